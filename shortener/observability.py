"""Per-request bookkeeping: request id, version header, metrics and one JSON log line.

Runs on every request, the redirect hot path included, so it stays cheap: no regex, one
counter increment and one histogram observation, one write to stdout.
"""

from __future__ import annotations

import itertools
import os
import secrets
from time import perf_counter

from flask import Flask, Response, g, request

from shortener.logs import configure_app_logging, log_request
from shortener.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-ID"
VERSION_HEADER = "X-App-Version"
MAX_REQUEST_ID_LENGTH = 128


_id_prefix = secrets.token_hex(8)
_id_counter = itertools.count()


def _after_fork() -> None:
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_after_fork)


def new_request_id() -> str:
    """32 hex digits, unique across processes and instances: a random per-process prefix and
    a counter (no system call per request, unlike uuid4)."""
    return f"{_id_prefix}{next(_id_counter):016x}"


def incoming_request_id(value: str | None) -> str:
    """The proxy's request id when it is a sane one, else a fresh one."""
    if value and len(value) <= MAX_REQUEST_ID_LENGTH and value.isascii() and value.isprintable():
        return value
    return new_request_id()


def register_observability(app: Flask) -> None:
    """Add the request id, version header, metrics and request log to every response."""
    version = app.config["BUILD_INFO"]["version"]
    configure_app_logging(version)

    def start() -> None:
        state = g._get_current_object()  # each proxy access costs a lookup: do it once
        state.request_started = perf_counter()
        state.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))

    def finish(response: Response) -> Response:
        state = g._get_current_object()
        current = request._get_current_object()
        started = getattr(state, "request_started", None)
        seconds = perf_counter() - started if started is not None else 0.0
        request_id = getattr(state, "request_id", None) or new_request_id()
        endpoint = current.endpoint or "unmatched"
        status = response.status_code
        method = current.method
        observe_request(endpoint, method, status, seconds)
        headers = response.headers
        headers[VERSION_HEADER] = version
        headers[REQUEST_ID_HEADER] = request_id
        log_request(
            request_id=request_id,
            method=method,
            path=current.path,
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
