"""The redirect hot path: code → target, with a small in-process cache.

Only links found active are cached, for CACHE_TTL seconds: a new link is visible at once
on every worker, and a disabled one stops redirecting within the TTL (at once on the
worker that disabled it, which forgets it).

A cache miss costs one indexed SELECT. It runs on a database connection each thread keeps
for itself (in autocommit, so it never holds a transaction open), as a statement compiled
once and prepared on the server: the pool's checkout, its pre-ping and an ORM session
would cost several times the query itself. A connection that fails is thrown away, the
error is raised as SQLAlchemy's (the app answers 503), and the next lookup reconnects.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shortener.extensions import db
from shortener.models import Link, StoredFile

CACHE_TTL = 10.0
CACHE_SIZE = 10_000


class Resolved(NamedTuple):
    id: int
    target_url: str | None
    expires_at: datetime | None
    disabled: bool
    filename: str | None
    content_type: str | None


_QUERY = (
    sa.select(
        Link.id,
        Link.target_url,
        Link.expires_at,
        Link.disabled_at.is_not(None),
        StoredFile.filename,
        StoredFile.content_type,
    )
    .outerjoin(StoredFile, StoredFile.link_id == Link.id)
    .where(Link.code == sa.bindparam("code"))
)

_cache: OrderedDict[str, tuple[float, Resolved]] = OrderedDict()
_lock = threading.Lock()


class _Lookup:
    """One thread's connection and the compiled lookup for its engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self.sql = _QUERY.compile(dialect=dialect).string
        self.positional = dialect.paramstyle in ("qmark", "numeric", "format")
        self.prepare = dialect.name == "postgresql"
        expires_type = Link.__table__.c.expires_at.type.dialect_impl(dialect)
        self.to_datetime: Callable[[Any], Any] | None = expires_type.result_processor(dialect, None)
        self.connection = engine.raw_connection()
        if self.prepare:
            self.connection.dbapi_connection.autocommit = True

    def fetch(self, code: str) -> Resolved | None:
        params: Any = (code,) if self.positional else {"code": code}
        cursor = self.connection.dbapi_connection.cursor()
        try:
            if self.prepare:
                cursor.execute(self.sql, params, prepare=True)
            else:
                cursor.execute(self.sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        expires_at = row[2]
        if expires_at is not None and self.to_datetime is not None:
            expires_at = self.to_datetime(expires_at)
        return Resolved(row[0], row[1], expires_at, bool(row[3]), row[4], row[5])

    def discard(self) -> None:
        # Already broken: whatever invalidating it says, the next lookup reconnects.
        with contextlib.suppress(Exception):
            self.connection.invalidate()


_local = threading.local()


def _lookup(engine: Engine) -> _Lookup:
    current: _Lookup | None = getattr(_local, "lookup", None)
    if current is None or current.engine is not engine:
        if current is not None:
            current.connection.close()
        current = _local.lookup = _Lookup(engine)
    return current


def fetch(code: str, engine: Engine) -> Resolved | None:
    """Read a code's link from the database (no cache)."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    lookup = None
    try:
        lookup = _lookup(engine)
        return lookup.fetch(code)
    except dbapi_error as exc:
        _local.lookup = None
        if lookup is not None:
            lookup.discard()
        # Raised as SQLAlchemy's own error, which the app answers with a 503.
        raise sa.exc.DBAPIError.instance(
            str(_QUERY),
            [code],
            exc,
            dbapi_error,
            connection_invalidated=True,
            dialect=engine.dialect,
        ) from exc


def resolve(code: str, engine: Engine | None = None) -> Resolved | None:
    """Look a code up (cache first); None when no link has it.

    `engine` defaults to the current app's (it needs an app context then).
    """
    now = time.monotonic()
    with _lock:
        hit = _cache.get(code)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(code)
            return hit[1]
    found = fetch(code, engine if engine is not None else db.engine)
    if found is not None and not found.disabled:
        with _lock:
            _cache[code] = (now + CACHE_TTL, found)
            _cache.move_to_end(code)
            if len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return found


def forget(code: str) -> None:
    """Drop a code from this worker's cache (after it was disabled or changed)."""
    with _lock:
        _cache.pop(code, None)


def clear() -> None:
    with _lock:
        _cache.clear()
