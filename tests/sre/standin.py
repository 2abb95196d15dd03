"""A small stand-in for the shortener's HTTP interface, to exercise the probes' failure paths.

It speaks the routes of the design (readyz, create, follow, disable) and can be told to
break in the ways a real deployment breaks.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN_TOKEN = "test-admin-token"


class StandInState:
    """What the stand-in stores and how it should misbehave."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}
        self.disabled: set[str] = set()
        # ok, readyz-503, create-500, forget, wrong-location, slow, no-code, delete-500
        self.mode = "ok"
        self.delay = 0.0


class Handler(BaseHTTPRequestHandler):
    server: StandInServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def answer(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Version", "stand-in-1")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state = self.server.state
        if state.mode == "slow":
            time.sleep(state.delay)
        if self.path == "/readyz":
            if state.mode == "readyz-503":
                self.answer(503, {"status": "unavailable", "reasons": ["database"]})
            else:
                self.answer(200, {"status": "ready"})
            return
        code = self.path.lstrip("/")
        if code in state.disabled:
            self.answer(410, {"error": {"type": "gone", "message": "disabled"}})
        elif code in state.links:
            target = state.links[code]
            if state.mode == "wrong-location":
                target = "https://example.com/elsewhere"
            self.answer(302, headers={"Location": target})
        else:
            self.answer(404, {"error": {"type": "not_found", "message": code}})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/api/links":
            self.answer(404)
        elif state.mode == "create-500":
            self.answer(500, {"error": {"type": "internal", "message": "boom"}})
        elif state.mode == "no-code":
            self.answer(201, {"url": payload.get("url")})
        else:
            code = secrets.token_urlsafe(5)
            if state.mode != "forget":
                state.links[code] = payload["url"]
            base = f"http://127.0.0.1:{self.server.server_port}"
            self.answer(
                201,
                {
                    "code": code,
                    "short_url": f"{base}/{code}",
                    "url": payload["url"],
                    "created_at": "2026-01-01T00:00:00Z",
                },
            )

    def do_DELETE(self) -> None:
        state = self.server.state
        code = self.path.removeprefix("/api/links/")
        if state.mode == "delete-500":
            self.answer(500)
        elif self.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
            self.answer(403, {"error": {"type": "forbidden", "message": "bad token"}})
        elif code not in state.links:
            self.answer(404)
        else:
            state.disabled.add(code)
            self.answer(200, {"code": code, "disabled": True})


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: StandInState) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = state

    def handle_error(self, request, client_address) -> None:
        # A probe that timed out hangs up before the answer: expected, not worth a traceback.
        pass


@contextmanager
def stand_in(port: int = 0, state: StandInState | None = None) -> Iterator[StandInServer]:
    """Serve the stand-in on 127.0.0.1:`port` (a free one by default) until the block ends."""
    server = StandInServer(port, state or StandInState())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
