"""Real receivers on loopback for notifications: an HTTP webhook endpoint and an SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.support.servers import free_port


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fail_first: int, fail_status: int) -> None:
        super().__init__(("127.0.0.1", 0), WebhookHandler)
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.attempts = 0
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        self.received = threading.Condition(self.lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hook"

    def wait_for(
        self, condition: Callable[[list[dict]], bool], timeout: float = 10.0
    ) -> list[dict]:
        """Block until the bodies received so far satisfy `condition`; return them."""
        with self.received:
            self.received.wait_for(lambda: bool(self.bodies) and condition(self.bodies), timeout)
            return list(self.bodies)


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.received:
            self.server.attempts += 1
            failing = self.server.attempts <= self.server.fail_first
            if not failing:
                self.server.bodies.append(json.loads(body))
                self.server.received.notify_all()
        self.send_response(self.server.fail_status if failing else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@contextmanager
def webhook_receiver(fail_first: int = 0, fail_status: int = 500) -> Iterator[WebhookServer]:
    """A webhook endpoint that answers `fail_status` to the first `fail_first` posts."""
    server = WebhookServer(fail_first, fail_status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Mailbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.condition = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.condition:
            self.messages.append(message_from_bytes(envelope.content))
            self.condition.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        with self.condition:
            self.condition.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server (aiosmtpd) on a free loopback port; yield (port, mailbox)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()
