"""Creating, finding and disabling links: the rules every entry point (form, API, CLI) shares."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.utils import secure_filename

from shortener.codes import InvalidCode, check_custom_code, generate_code
from shortener.database import database_locked
from shortener.extensions import db
from shortener.metrics import LINKS_CREATED
from shortener.models import Link, StoredFile, utcnow
from shortener.resolver import forget
from shortener.targets import BLOCKED_MESSAGE, InvalidTarget, host_of, is_blocked, normalise_target

GENERATE_ATTEMPTS = 8
BUSY_RETRIES = 3  # SQLite: further attempts after waiting out the busy timeout
BUSY_BACKOFF_SECONDS = 0.05

# A media type as RFC 6838 spells it; anything else a client claims is stored as plain bytes.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


class LinkError(Exception):
    """A request we refuse; carries the HTTP status, a machine type and a human message."""

    status = 400
    type = "invalid_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(LinkError):
    status, type = 400, "invalid_request"


class CodeTaken(LinkError):
    status, type = 409, "code_taken"


class TooLarge(LinkError):
    status, type = 413, "too_large"


class BlockedDomain(LinkError):
    # 400 like every other target the rules refuse (docs/input-rules.md says why not 403).
    status, type = 400, "blocked_domain"


@dataclass(frozen=True)
class Upload:
    """A file someone wants a short link for."""

    filename: str
    content_type: str
    data: bytes


def short_url(code: str) -> str:
    """The public short URL of `code` (from BASE_URL, never from the request's Host)."""
    return f"{current_app.config['BASE_URL']}/{code}"


def _check_upload(upload: Upload) -> Upload:
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if len(upload.data) > limit:
        raise TooLarge(f"Files can be at most {limit // (1024 * 1024)} MB.", field="file")
    if not upload.data:
        raise InvalidInput("That file is empty.", field="file")
    name = secure_filename(upload.filename or "") or "download"
    content_type = (upload.content_type or "").strip().lower()
    if not _MEDIA_TYPE.fullmatch(content_type):
        content_type = "application/octet-stream"
    return Upload(filename=name[:255], content_type=content_type, data=upload.data)


def create_link(
    *,
    url: str | None = None,
    upload: Upload | None = None,
    code: str | None = None,
    expires_at: datetime | None = None,
    owner: str | None = None,
) -> Link:
    """Validate and store a new link; raise a LinkError (nothing stored) when refused."""
    if (url is None) == (upload is None):
        raise InvalidInput("Give either a URL or a file, not both.", field="url")
    target = None
    if url is not None:
        try:
            target = normalise_target(url, current_app.config["BASE_URL"])
        except InvalidTarget as exc:
            raise InvalidInput(str(exc), field="url") from exc
        if is_blocked(target, current_app.config["BLOCKED_DOMAINS"]):
            raise BlockedDomain(BLOCKED_MESSAGE.format(host=host_of(target)), field="url")
    if upload is not None:
        upload = _check_upload(upload)
    custom = code or None
    if custom is not None:
        try:
            check_custom_code(custom)
        except InvalidCode as exc:
            raise InvalidInput(str(exc), field="code") from exc
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("The expiry time must be in the future.", field="expires_at")

    attempts = 1 if custom else GENERATE_ATTEMPTS
    busy_retries = BUSY_RETRIES
    while attempts > 0:
        link = Link(
            code=custom or generate_code(),
            target_url=target,
            expires_at=expires_at,
            owner=owner,
            created_at=utcnow(),
        )
        # Set even when there is none, so answering with the link loads nothing more.
        link.file = None
        if upload is not None:
            link.file = StoredFile(
                filename=upload.filename,
                content_type=upload.content_type,
                size=len(upload.data),
                data=upload.data,
            )
        db.session.add(link)
        try:
            db.session.commit()
        except IntegrityError:
            # The unique index said no: the name is taken (or a random code collided).
            db.session.rollback()
            attempts -= 1
            continue
        except OperationalError as exc:
            # On SQLite, other workers' writes kept the database locked for longer than the
            # busy timeout: try again a few times rather than fail the person's request.
            if busy_retries == 0 or not database_locked(exc):
                raise
            db.session.rollback()
            busy_retries -= 1
            time.sleep(BUSY_BACKOFF_SECONDS)
            continue
        LINKS_CREATED.inc()
        # A new link has no visits: saying so spares a query when answering with it.
        set_committed_value(link, "visits", 0)
        set_committed_value(link, "last_visited_at", None)
        # This worker may remember the code as unknown (someone tried it before it existed).
        forget(link.code)
        return link
    if custom:
        raise CodeTaken(f"The name “{custom}” is already taken.", field="code")
    raise LinkError("Could not find a free code; please try again.")


def link_state(link: Link) -> str:
    """'active', 'disabled', 'expired', or 'blocked' when its target's domain is blocked now."""
    state = link.state()
    blocked = current_app.config["BLOCKED_DOMAINS"]
    if state == "active" and link.target_url is not None and is_blocked(link.target_url, blocked):
        return "blocked"
    return state


def get_link(code: str) -> Link | None:
    """The link with `code`, or None."""
    return db.session.execute(db.select(Link).where(Link.code == code)).scalar_one_or_none()


def links_of(owner: str, limit: int = 1000) -> list[Link]:
    """The newest links made by one browser session."""
    query = db.select(Link).where(Link.owner == owner).order_by(Link.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def set_disabled(code: str, disabled: bool = True) -> Link | None:
    """Disable (or enable again) a link; return it, or None when there is no such code."""
    link = get_link(code)
    if link is None:
        return None
    if disabled and link.disabled_at is None:
        link.disabled_at = utcnow()
    elif not disabled:
        link.disabled_at = None
    db.session.commit()
    forget(code)
    return link


def file_data(link_id: int) -> bytes:
    """The bytes of a link's file, loaded only when it is downloaded."""
    query = sa.select(StoredFile.data).where(StoredFile.link_id == link_id)
    return db.session.execute(query).scalar_one()
