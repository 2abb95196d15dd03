"""Pages for people: the form, the result page, the QR code."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import MethodNotAllowed

from shortener.extensions import limiter
from shortener.forms import ShortenForm
from shortener.links import (
    LinkError,
    Upload,
    create_link,
    get_link,
    link_state,
    links_of,
    short_url,
)
from shortener.owners import current_owner
from shortener.visits import visits

bp = Blueprint("pages", __name__)

RECENT_LINKS = 20


def create_limit() -> str:
    return current_app.config["RATE_LIMIT_CREATE"]


def render_home(
    error: str | None = None, field: str | None = None, status: int = 200, keep_input: bool = True
):
    """The home page; after a refused post, with the message and what the person typed."""
    form = ShortenForm(formdata=request.form if keep_input and request.method == "POST" else None)
    owner = current_owner()
    recent = links_of(owner, limit=RECENT_LINKS) if owner else []
    return render_template(
        "index.html",
        form=form,
        error=error,
        error_field=field or "url",
        recent=recent,
        short_url=short_url,
        max_upload_mb=current_app.config["MAX_UPLOAD_BYTES"] // 2**20,
    ), status


@bp.get("/")
def index():
    return render_home()


@bp.get("/shorten")
def shorten_by_get():
    # Without it, /<code> would answer a typed or bookmarked /shorten with "no such link".
    raise MethodNotAllowed(valid_methods=["POST"])


@bp.post("/shorten")
@limiter.shared_limit(create_limit, scope="create")
def shorten():
    url = request.form.get("url", "").strip()
    storage = request.files.get("file")
    upload = None
    if storage is not None and storage.filename:
        upload = Upload(storage.filename, storage.mimetype, storage.read())
    try:
        if upload is not None and url:
            raise LinkError("Shorten a URL or upload a file, not both at once.", field="url")
        link = create_link(
            url=url if upload is None else None,
            upload=upload,
            code=request.form.get("code", "").strip(),
            owner=current_owner(create=True),
        )
    except LinkError as exc:
        return render_home(error=exc.message, field=exc.field, status=exc.status)
    return redirect(url_for("pages.info", code=link.code), code=303)


@bp.get("/<code:code>+")
def info(code: str):
    link = get_link(code)
    if link is None:
        abort(404)
    return render_template(
        "info.html",
        link=link,
        short_url=short_url(link.code),
        visits=link.visits + visits.pending(link.id),
        state=link_state(link),
    )


@bp.get("/<code:code>/qr.svg")
def qr(code: str):
    link = get_link(code)
    if link is None:
        abort(404)
    # Imported here: only this page needs it, and each web worker would hold it.
    import segno

    buffer = io.BytesIO()
    segno.make(short_url(code), error="m").save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False, title=f"QR code for {code}"
    )
    response = current_app.response_class(buffer.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
