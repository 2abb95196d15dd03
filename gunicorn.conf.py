"""gunicorn settings, read by the Procfile's command (on EB and in `make run`)."""

import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# A deploy drains an old instance with SIGTERM: give in-flight requests time to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
accesslog = None  # the app logs each request as one JSON line
# Several instances run side by side during a deploy; one shared control socket would clash.
control_socket_disable = True


class JsonLineFormatter(logging.Formatter):
    """gunicorn's own messages (boot, worker exits, timeouts) in the app's JSON line shape.

    The same fields as shortener.logs.record_fields, written out here: importing the app's
    package in the master would import prometheus_client before the multiprocess
    directory is set, and the workers would inherit single-process metrics.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": "log",
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


# Everything on stdout, one JSON object per line: that is what EB ships to CloudWatch.
logconfig_dict = {
    "root": {"level": "WARNING", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "formatters": {"json": {"()": JsonLineFormatter}},
}

# Prometheus multiprocess mode: every worker writes its figures to files in one directory
# and /metrics adds them up. The variable must be set before a worker imports
# prometheus_client (so never set preload_app), and the directory must start empty, or a
# previous run's figures would be counted again. Made in on_starting, not when this file is
# read, so that reading the settings has no side effect.
_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_MADE_HERE = "SHORTENER_METRICS_DIR_MADE_BY_GUNICORN"
_OWN_PREFIX = "shortener-metrics-"


def on_starting(server):
    """Point the workers at an empty metrics directory (a temporary one unless given)."""
    _remove_abandoned_metrics_dirs()
    if not os.environ.get(_METRICS_ENV):
        made = tempfile.mkdtemp(prefix=f"{_OWN_PREFIX}{os.getpid()}-")
        os.environ[_METRICS_ENV] = os.environ[_MADE_HERE] = made
    directory = Path(os.environ[_METRICS_ENV])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the sums (its counters keep counting)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, os.environ[_METRICS_ENV])


def on_exit(server):
    """Remove the metrics directory when gunicorn made it."""
    made = os.environ.get(_MADE_HERE)
    if made and made == os.environ.get(_METRICS_ENV):
        shutil.rmtree(made, ignore_errors=True)


def _remove_abandoned_metrics_dirs():
    """Remove the temporary metrics directories of masters that died without on_exit."""
    for directory in Path(tempfile.gettempdir()).glob(f"{_OWN_PREFIX}*-*"):
        owner = directory.name.removeprefix(_OWN_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
