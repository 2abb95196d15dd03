"""Several app instances on loopback and nginx in front of them, as on Elastic Beanstalk:
gunicorn processes that a test can stop and start again on their ports, and Debian's nginx
configured by the local environment's own code (sre/localenv/nginx.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sre.localenv.nginx import Nginx, Upstream
from tests.support import require
from tests.support.servers import ROOT, free_port, gunicorn_app, wait_http


class AppProcess:
    """One instance: the Procfile's gunicorn on a port of its own, restartable in place."""

    def __init__(self, env: dict[str, str], workers: int = 2, port: int | None = None) -> None:
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: AbstractContextManager[str] | None = None

    def start(self) -> AppProcess:
        running = gunicorn_app(self.env, workers=self.workers, port=self.port)
        running.__enter__()
        self._running = running
        wait_http(f"{self.url}/readyz", timeout=30)
        return self

    def stop(self) -> None:
        """SIGTERM, as a deploy does: gunicorn finishes what it holds, then exits."""
        running, self._running = self._running, None
        if running is not None:
            running.__exit__(None, None, None)

    def log_path(self) -> Path:
        return Path(self.env.get("TEST_LOG_DIR", "/tmp")) / f"gunicorn-{self.port}.log"


@contextmanager
def instances(env: dict[str, str], count: int = 2, workers: int = 2) -> Iterator[list[AppProcess]]:
    """`count` instances with the same settings (one database, one Redis), all stopped after."""
    started: list[AppProcess] = []
    try:
        for _ in range(count):
            started.append(AppProcess(env, workers).start())
        yield started
    finally:
        for instance in started:
            instance.stop()


@contextmanager
def nginx_in_front(prefix: Path, ports: list[int], port: int | None = None) -> Iterator[Nginx]:
    """nginx on 127.0.0.1 spreading requests over `ports`, as EB's nginx is configured."""
    require.need_program("nginx")
    nginx = Nginx(prefix / f"nginx-{secrets.token_hex(3)}", port or free_port())
    nginx.serve(upstream(ports))
    try:
        yield nginx
    finally:
        nginx.stop()


def upstream(ports: list[int]) -> Upstream:
    return Upstream(ports[0], ROOT, more_ports=tuple(ports[1:]))
