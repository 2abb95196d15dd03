"""Following a short link without Flask's request machinery: the product's hot path.

The common case of GET or HEAD /<code> for an active link with a URL target is answered
here, in front of Flask, with exactly what the Flask route answers (status, Location,
security and version headers, request id), counted in the same metrics and logged as the
same JSON line. Everything else (unknown, disabled, expired or blocked codes, files, other routes,
a database error) goes on to Flask unchanged, which answers it as before.

Measured under gunicorn, Flask's request context, routing, hooks and response object cost
more CPU per redirect than the whole answer given here (docs/performance.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from time import perf_counter

from flask import Flask
from werkzeug.urls import iri_to_uri

from shortener.codes import ROUTABLE_PATTERN
from shortener.extensions import db
from shortener.logs import log_request
from shortener.metrics import REDIRECTS, observe_request
from shortener.models import utcnow
from shortener.observability import REQUEST_ID_HEADER, VERSION_HEADER, incoming_request_id
from shortener.resolver import resolve
from shortener.security import default_headers
from shortener.targets import is_blocked
from shortener.visits import visits

REDIRECT_ENDPOINT = "redirects.follow"  # the Flask route this answers for
LOOKUP_ERROR = "shortener.lookup_error"  # environ key: the lookup failed here already
_CODE_PATH = re.compile("/" + ROUTABLE_PATTERN)
_EMPTY: list[bytes] = [b""]


@cache
def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase.upper()}"


class RedirectFastPath:
    """WSGI middleware answering redirects of active URL links before Flask does."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.config = app.config
        self.version = app.config["BUILD_INFO"]["version"]
        self.security_headers = default_headers(app)
        # Paths another route owns even though they look like codes (/healthz, /api, …).
        self.taken = {rule.rule for rule in app.url_map.iter_rules() if not rule.arguments}
        self._engine = None

    def engine(self):
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if (
            (method != "GET" and method != "HEAD")
            or path in self.taken
            or not _CODE_PATH.fullmatch(path)
        ):
            return self.wsgi_app(environ, start_response)
        started = perf_counter()
        try:
            link = resolve(path[1:], self.engine())
        except Exception as exc:
            # Flask answers it its own way (a 503 for a database error), without a second
            # attempt that would double the wait when the database is away.
            environ[LOOKUP_ERROR] = exc
            return self.wsgi_app(environ, start_response)
        if (
            link is None
            or link.disabled
            or link.target_url is None
            or (link.expires_at is not None and link.expires_at <= utcnow())
            or is_blocked(link.target_url, self.config["BLOCKED_DOMAINS"])  # Flask answers 410
        ):
            return self.wsgi_app(environ, start_response)
        visits.record(link.id)
        REDIRECTS.inc()
        location = link.target_url
        if not location.isascii():
            location = iri_to_uri(location)
        request_id = incoming_request_id(environ.get("HTTP_X_REQUEST_ID"))
        status = self.config["REDIRECT_STATUS"]
        start_response(
            _status_line(status),
            [
                ("Location", location),
                ("Content-Type", "text/html; charset=utf-8"),
                *self.security_headers,
                (VERSION_HEADER, self.version),
                (REQUEST_ID_HEADER, request_id),
                ("Content-Length", "0"),
            ],
        )
        seconds = perf_counter() - started
        observe_request(REDIRECT_ENDPOINT, method, status, seconds)
        log_request(
            request_id=request_id,
            method=method,
            path=path,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            version=self.version,
            endpoint=REDIRECT_ENDPOINT,
        )
        return _EMPTY
