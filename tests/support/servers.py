"""Start real processes (gunicorn, the app) for tests, and wait for them over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0, status: int = 200) -> None:
    """Poll `url` until it answers `status`; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == status:
                    return
                last = response.status
        except urllib.error.HTTPError as exc:
            last = exc.code
            if exc.code == status:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer {status} within {timeout}s (last: {last})")


def procfile_command(root: Path = ROOT) -> list[str]:
    """The Procfile's `web` command, split into arguments."""
    for line in (root / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").split()
    raise ValueError("Procfile has no web: line")


@contextmanager
def gunicorn_app(
    env: dict[str, str], workers: int = 2, cwd: Path = ROOT, port: int | None = None
) -> Iterator[str]:
    """Run the app as `make run` does (the Procfile's command) and yield its base URL.

    `env` is laid over the current environment; the database must already be migrated.
    `port` pins the port (to restart the app where a client expects it); a free one otherwise.
    """
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "BASE_URL": base_url,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    }
    log_path = Path(env.get("TEST_LOG_DIR", "/tmp")) / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            procfile_command(cwd),
            cwd=cwd,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            try:
                wait_http(f"{base_url}/healthz", timeout=30)
            except TimeoutError as exc:
                proc.kill()
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"gunicorn did not start: {tail}") from exc
            yield base_url
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
