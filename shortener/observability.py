"""Per-request bookkeeping: request id, version header, metrics and one JSON log line.

Runs on every request, the redirect hot path included, so it stays cheap: no regex, one
counter increment and one histogram observation, one write to stdout.
"""

from __future__ import annotations

import uuid
from time import perf_counter

from flask import Flask, Response, g, request

from shortener.logs import configure_app_logging, log_request
from shortener.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-ID"
VERSION_HEADER = "X-App-Version"
MAX_REQUEST_ID_LENGTH = 128


def incoming_request_id(value: str | None) -> str:
    """The proxy's request id when it is a sane one, else a fresh one."""
    if value and len(value) <= MAX_REQUEST_ID_LENGTH and value.isascii() and value.isprintable():
        return value
    return uuid.uuid4().hex


def register_observability(app: Flask) -> None:
    """Add the request id, version header, metrics and request log to every response."""
    version = app.config["BUILD_INFO"]["version"]
    configure_app_logging(version)

    def start() -> None:
        g.request_started = perf_counter()
        g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))

    def finish(response: Response) -> Response:
        started = g.get("request_started")
        seconds = perf_counter() - started if started is not None else 0.0
        request_id = g.get("request_id") or incoming_request_id(None)
        endpoint = request.endpoint or "unmatched"
        status = response.status_code
        observe_request(endpoint, request.method, status, seconds)
        headers = response.headers
        headers[VERSION_HEADER] = version
        headers[REQUEST_ID_HEADER] = request_id
        log_request(
            request_id=request_id,
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            version=version,
            endpoint=endpoint,
        )
        return response

    # First before every other hook (so a rate-limit refusal is timed and has an id too),
    # last after every other one (so the time covers them).
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)
