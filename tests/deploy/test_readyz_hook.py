"""The postdeploy hook fails an EB deploy unless the new instance answers /readyz."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.support.require import need_program
from tests.support.servers import ROOT, free_port

HOOK = ROOT / ".platform/hooks/postdeploy/01-readyz.sh"


class Readiness(http.server.BaseHTTPRequestHandler):
    """Answers /readyz with 503 for the first `fail_first` requests, then 200."""

    fail_first = 0
    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        ready = self.path == "/readyz" and type(self).seen > self.fail_first
        self.send_response(200 if ready else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Readiness.fail_first, Readiness.seen = 2, 0
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Readiness)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run_hook(url: str, attempts: int) -> subprocess.CompletedProcess:
    need_program("curl")
    env = {"READYZ_URL": url, "READYZ_ATTEMPTS": str(attempts), "READYZ_DELAY": "0.1"}
    return subprocess.run(
        [str(HOOK)], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )


def test_the_hook_waits_for_readiness(server: str) -> None:
    result = run_hook(f"{server}/readyz", attempts=5)
    assert result.returncode == 0, result.stderr
    assert "answered 200 (attempt 3)" in result.stdout


def test_the_hook_fails_the_deploy_when_never_ready(server: str) -> None:
    result = run_hook(f"{server}/not-ready", attempts=3)
    assert result.returncode == 1
    assert "did not answer 200 after 3 attempts" in result.stderr


def test_the_hook_fails_when_nothing_listens() -> None:
    result = run_hook(f"http://127.0.0.1:{free_port()}/readyz", attempts=2)
    assert result.returncode == 1
