"""`make notify`: the message reaches the webhook, and every way it cannot is reported."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from sre.cli import main
from sre.notify import NotifyError, notify
from tests.support.servers import free_port


class Webhook(http.server.BaseHTTPRequestHandler):
    """Records each posted JSON body and answers with `status`."""

    status = 200
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Webhook.status, Webhook.received = 200, []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()
    httpd.server_close()


def test_the_message_is_posted_as_chat_text(webhook: str) -> None:
    assert notify("deploy of 20261203-140509-abc1234 failed; rolled back", webhook) is True
    assert Webhook.received == [{"text": "deploy of 20261203-140509-abc1234 failed; rolled back"}]


def test_without_a_webhook_nothing_is_sent(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_WEBHOOK", raising=False)
    assert notify("hello") is False


def test_a_refusing_webhook_is_an_error(webhook: str) -> None:
    Webhook.status = 500
    with pytest.raises(NotifyError, match="answered 500"):
        notify("hello", webhook)


def test_an_unreachable_webhook_is_an_error() -> None:
    with pytest.raises(NotifyError, match="unreachable"):
        notify("hello", f"http://127.0.0.1:{free_port()}/hook", timeout=2)


def test_a_webhook_must_be_a_web_url() -> None:
    with pytest.raises(NotifyError, match="http"):
        notify("hello", "file:///etc/passwd")


def test_the_command(webhook: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("NOTIFY_WEBHOOK", webhook)
    assert main(["notify", "build 7 failed"]) == 0
    assert Webhook.received == [{"text": "build 7 failed"}]

    Webhook.status = 403
    assert main(["notify", "build 8 failed"]) == 1
    assert "could not send: the webhook answered 403" in capsys.readouterr().err

    monkeypatch.delenv("NOTIFY_WEBHOOK")
    assert main(["notify", "build 9 failed"]) == 0
    assert "printed only" in capsys.readouterr().err
