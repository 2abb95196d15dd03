"""Error responses in one place: JSON for API clients, pages in the site's look for people."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from shortener.extensions import db
from shortener.metrics import DB_ERRORS
from shortener.misslimit import MissLimited, refuse_if_limited

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
_TITLES = {
    404: "That short link does not exist",
    410: "This link is no longer available",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "We’ll be right back",
}
_MESSAGES = {
    404: "Check the address for typos: short links are case-sensitive.",
    410: "Its owner disabled it, or it expired.",
    413: "That upload is too large.",
    429: "Too many links made too fast. Please wait a minute and try again.",
    500: "The error has been logged. Please try again in a moment.",
    503: "The service is briefly unavailable. Please try again in a few seconds.",
}


def wants_json() -> bool:
    """API paths always get JSON; elsewhere, clients that prefer JSON to HTML do."""
    if request.path == "/api" or request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def json_error(status: int, message: str, error_type: str | None = None, **extra):
    """The API's error shape: {"error": {"type", "message"}} with `status`."""
    body = {"type": error_type or _TYPES.get(status, "error"), "message": message, **extra}
    return jsonify(error=body), status


def error_response(status: int, message: str | None = None):
    """An error for whoever asked: JSON, the form again, or an error page."""
    message = message or _MESSAGES.get(status, "")
    if wants_json():
        return json_error(status, message)
    if request.endpoint == "pages.shorten" and status in (400, 413, 429):
        from shortener.views.pages import render_home

        return render_home(error=message, status=status, keep_input=status != 413)
    title = _TITLES.get(status, "Something is not right")
    return render_template("error.html", status=status, title=title, message=message), status


def discard_session() -> None:
    """Roll back whatever the failed request left in the session, even on a dead connection."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; dropping the session is all that is left
        log.warning("rollback failed; discarding the session", exc_info=True)
        db.session.remove()


def register_error_handlers(app: Flask) -> None:
    def refuse_scanner() -> None:
        refuse_if_limited(request.environ)

    # Before every hook but the request timer (observability.py puts it first), so a
    # refused request is answered, timed and logged, and touches nothing else.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_scanner)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        return error_response(400, "Your session expired or the form is stale: please try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = _MESSAGES.get(status) or exc.description
        if status == 429:
            # Too many creates (Flask-Limiter), or too many misses (misslimit.py).
            message = exc.description if isinstance(exc, MissLimited) else _MESSAGES[429]
        response = error_response(status, message)
        for header in ("Allow", "Retry-After"):
            value = exc.get_response().headers.get(header)
            if value and status in (405, 429):
                response = app.make_response(response)
                response.headers[header] = value
        return response

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc: Exception):
        # The database is down or slow: say so honestly and ask the client to retry,
        # instead of a 500; the pool's pre-ping reconnects once it is back.
        discard_session()
        log.error("database unavailable: %s", exc.__class__.__name__)
        DB_ERRORS.inc()
        response = app.make_response(error_response(503))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def keep_retry_after(response):
        # Flask-Limiter stretches Retry-After on rate-limited routes to the end of its window
        # (up to a minute); a 503 means the database, which is worth retrying much sooner.
        if response.status_code == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    # First in the list, so it runs after the limiter's own after-request hook.
    app.after_request_funcs.setdefault(None, []).insert(0, keep_retry_after)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        discard_session()
        log.exception("unhandled error")
        return error_response(500)
