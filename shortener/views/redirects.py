"""Following a short link: the hot path. No session, no template, no database write."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, request, send_file
from werkzeug.wrappers import Response

from shortener.errors import error_response
from shortener.fastpath import LOOKUP_ERROR
from shortener.links import file_data
from shortener.metrics import REDIRECTS
from shortener.models import utcnow
from shortener.resolver import resolve
from shortener.security import DOWNLOAD_CSP
from shortener.targets import BLOCKED_REDIRECT_MESSAGE, is_blocked
from shortener.visits import visits

bp = Blueprint("redirects", __name__)


@bp.route("/<code:code>", methods=["GET", "HEAD"])
def follow(code: str) -> Response:
    failed = request.environ.get(LOOKUP_ERROR)
    if failed is not None:
        raise failed
    link = resolve(code)
    if link is None:
        abort(404)
    if link.disabled or (link.expires_at is not None and link.expires_at <= utcnow()):
        abort(410)
    if link.target_url is not None and is_blocked(
        link.target_url, current_app.config["BLOCKED_DOMAINS"]
    ):
        return error_response(410, BLOCKED_REDIRECT_MESSAGE)
    visits.record(link.id)
    REDIRECTS.inc()
    if link.target_url is None:
        response = send_file(
            io.BytesIO(file_data(link.id)),
            mimetype=link.content_type or "application/octet-stream",
            as_attachment=True,
            download_name=link.filename or "download",
        )
        response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    return current_app.response_class(
        status=current_app.config["REDIRECT_STATUS"], headers={"Location": link.target_url}
    )
