"""The JSON API for the customer's application."""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from shortener.errors import json_error
from shortener.extensions import csrf, limiter
from shortener.links import (
    InvalidInput,
    LinkError,
    TooLarge,
    Upload,
    create_link,
    get_link,
    link_state,
    links_of,
    set_disabled,
    short_url,
)
from shortener.models import Link
from shortener.openapi import EXPIRY_PATTERN, openapi_document
from shortener.owners import current_owner
from shortener.visits import visits

bp = Blueprint("api", __name__)
# A JSON body holds a URL of at most 2,048 characters and two short fields: far less than this.
MAX_JSON_BYTES = 16 * 1024
csrf.exempt(bp)  # token-less JSON clients; the browser form has its own CSRF protection


def link_json(link: Link) -> dict:
    """The API's representation of a link."""
    return {
        "code": link.code,
        "short_url": short_url(link.code),
        "url": link.target_url,
        "file": (
            {
                "filename": link.file.filename,
                "content_type": link.file.content_type,
                "size": link.file.size,
            }
            if link.file is not None
            else None
        ),
        "created_at": link.created_at.isoformat(),
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "disabled_at": link.disabled_at.isoformat() if link.disabled_at else None,
        "status": link_state(link),
        "visits": link.visits + visits.pending(link.id),
        "info_url": short_url(link.code) + "+",
        "qr_url": short_url(link.code) + "/qr.svg",
    }


def parse_expiry(raw: object) -> datetime | None:
    """An RFC 3339 timestamp (UTC when no zone is given), or None."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InvalidInput("expires_at must be an ISO 8601 timestamp string.", field="expires_at")
    try:
        if not re.fullmatch(EXPIRY_PATTERN, raw):
            raise ValueError(raw)
        when = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
        # In UTC, as stored; a time near year 1 or 9999 may not exist there (OverflowError).
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(
            "expires_at must be an ISO 8601 timestamp, like 2030-01-31T12:00:00Z.",
            field="expires_at",
        ) from exc


def json_body() -> object:
    """The request's JSON document; None when it is not JSON at all."""
    request.max_content_length = MAX_JSON_BYTES
    try:
        return request.get_json(silent=True)
    except RequestEntityTooLarge as exc:
        raise TooLarge(f"A JSON body can be at most {MAX_JSON_BYTES // 1024} KB.") from exc
    except RecursionError:  # nested deeper than the parser goes: not a link, whatever it is
        return None


def _optional_str(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string.", field=key)
    return value


def create_limit() -> str:
    return current_app.config["RATE_LIMIT_CREATE"]


@bp.post("/api/links")
@limiter.shared_limit(create_limit, scope="create")
def create():
    try:
        if request.mimetype == "application/json":
            data = json_body()
            if not isinstance(data, dict):
                raise InvalidInput('The body must be a JSON object, like {"url": "https://…"}.')
            url = _optional_str(data, "url")
            if url is None:
                raise InvalidInput('Give a "url" to shorten.', field="url")
            link = create_link(
                url=url,
                code=_optional_str(data, "code"),
                expires_at=parse_expiry(data.get("expires_at")),
            )
        elif request.mimetype == "multipart/form-data":
            storage = request.files.get("file")
            if storage is None or not storage.filename:
                raise InvalidInput('Send the file in a multipart field named "file".', field="file")
            link = create_link(
                upload=Upload(storage.filename, storage.mimetype, storage.read()),
                code=request.form.get("code"),
                expires_at=parse_expiry(request.form.get("expires_at")),
            )
        else:
            return json_error(415, "Send application/json, or multipart/form-data with a file.")
    except LinkError as exc:
        return json_error(exc.status, exc.message, exc.type, field=exc.field)
    response = jsonify(link_json(link))
    response.status_code = 201
    response.headers["Location"] = url_for("api.show", code=link.code)
    return response


@bp.get("/api/links/<code:code>")
def show(code: str):
    link = get_link(code)
    if link is None:
        return json_error(404, f"No link has the code “{code}”.")
    return jsonify(link_json(link))


@bp.delete("/api/links/<code:code>")
def disable(code: str):
    expected = current_app.config["ADMIN_TOKEN"]
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        response, status = json_error(401, "Send Authorization: Bearer <admin token>.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="shortener"'
        return response, status
    if not expected or not hmac.compare_digest(
        header.removeprefix("Bearer ").encode(), expected.encode()
    ):
        return json_error(403, "That token may not disable links.")
    link = set_disabled(code)
    if link is None:
        return json_error(404, f"No link has the code “{code}”.")
    return jsonify(link_json(link))


@bp.get("/api")
def session_codes():
    """The codes this browser session created (version 1's API, kept)."""
    owner = current_owner()
    return jsonify([link.code for link in links_of(owner)] if owner else [])


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config["BASE_URL"]))
