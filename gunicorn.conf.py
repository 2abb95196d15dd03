"""gunicorn settings, read by the Procfile's command (on EB and in `make run`)."""

import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A deploy drains an old instance with SIGTERM: give in-flight requests time to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
accesslog = None  # the app logs each request as one JSON line
# Several instances run side by side during a deploy; one shared control socket would clash.
control_socket_disable = True
