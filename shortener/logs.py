"""Structured logs: one JSON object per line on stdout, which Elastic Beanstalk ships.

Each request is logged once, after its response, with its request id, method, path (never
the query string), status, duration and the app's version. Other log records (errors,
warnings from the visit flusher) use the same shape. Bodies, headers and cookies are never
logged.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

APP_LOGGER = "shortener"

_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


# gunicorn forks the workers; a pid looked up once per process, not once per line.
os.register_at_fork(after_in_child=_after_fork)


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_line(record: dict) -> None:
    """Write `record` as one JSON line to the current stdout."""
    # One write per line: gunicorn workers share stdout, and whole lines must not interleave.
    stream = sys.stdout
    stream.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
    stream.flush()


def log_request(
    *,
    request_id: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    version: str,
    endpoint: str,
) -> None:
    """Log one answered request."""
    write_line(
        {
            "time": now_iso(),
            "level": "error" if status >= 500 else "info",
            "event": "request",
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "endpoint": endpoint,
            "version": version,
            "pid": _pid,
        }
    )


def record_fields(record: logging.LogRecord) -> dict:
    """The JSON line of a log record that is not a request (errors, gunicorn's messages)."""
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
        # The traceback stays in the server's log; clients only ever see the error page.
        line["exception"] = logging.Formatter().formatException(record.exc_info)
    return line


class JsonLineHandler(logging.Handler):
    """A logging handler writing each record as one JSON line to the stdout of the moment."""

    def __init__(self, version: str) -> None:
        super().__init__()
        self.version = version

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record_fields(record)
            line["version"] = self.version
            request_id = _current_request_id()
            if request_id:
                line["request_id"] = request_id
            write_line(line)
        except Exception:
            self.handleError(record)


def _current_request_id() -> str | None:
    from flask import g, has_request_context

    if not has_request_context():
        return None
    return g.get("request_id")


def configure_app_logging(version: str) -> None:
    """Send the app's own log records (the `shortener` logger) to stdout as JSON lines."""
    logger = logging.getLogger(APP_LOGGER)
    for handler in list(logger.handlers):
        if isinstance(handler, JsonLineHandler):
            logger.removeHandler(handler)
    logger.addHandler(JsonLineHandler(version))
    logger.setLevel(logging.INFO)
    logger.propagate = False
