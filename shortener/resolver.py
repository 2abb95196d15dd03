"""The redirect hot path: code → target, with an in-process cache.

Links are cached until the database says a link changed: triggers bump a generation
number (table link_generation, migration 0002) whenever a link is disabled, re-enabled,
retargeted, given a new expiry or deleted, by this release or any other, and each worker
compares it at most once every GENERATION_CHECK seconds, on the first lookup after that
interval, before answering from its cache. When it moved, the worker drops every cached
link. So a takedown stops redirecting on every worker within GENERATION_CHECK seconds of
its commit (at once on the worker that made it). When a worker cannot read the number
(database away), it keeps answering from its cache for at most STALE_LIMIT seconds after
its last good reading, then stops: that is the takedown bound in the worst case. The
whole cache is also dropped every CACHE_TTL seconds, a backstop that bounds any stale
entry a missed invalidation could leave.

Unknown codes are remembered for NEGATIVE_TTL seconds, so a client asking for the same
missing code over and over does not reach the database each time; creating a link forgets
its code on the creating worker at once, and other workers see it within NEGATIVE_TTL.

A cache miss costs one indexed SELECT. It runs on a database connection each thread keeps
for itself (in autocommit, so it never holds a transaction open), as a statement compiled
once and prepared on the server: the pool's checkout, its pre-ping and an ORM session
would cost several times the query itself. A connection that fails is thrown away, the
error is raised as SQLAlchemy's (the app answers 503), and the next lookup reconnects.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shortener.extensions import db
from shortener.models import Link, LinkGeneration, StoredFile

log = logging.getLogger(__name__)

GENERATION_CHECK = 1.0  # seconds between readings of the generation: the takedown bound
STALE_LIMIT = 10.0  # seconds a worker answers from its cache without a good reading
CACHE_TTL = 3600.0  # the whole cache is dropped at least this often: a backstop only
# Entries per worker. About 240 bytes each (code, target, tuple; 10,000 measured 2.4 MB):
# 20,000 are under 5 MB of each worker's memory.
CACHE_SIZE = 20_000
NEGATIVE_TTL = 1.0  # seconds an unknown code is remembered as unknown
NEGATIVE_SIZE = 10_000


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

_GENERATION_QUERY = sa.select(LinkGeneration.generation).where(LinkGeneration.id == 1)


class _Cache:
    """One worker's cached links and unknown codes, and what they were read under.

    Reads take no lock: a dict lookup is atomic in CPython, and dropping everything swaps in
    new dicts, so a reader sees either the old ones or the new ones.
    """

    def __init__(self) -> None:
        self.links: dict[str, Resolved] = {}
        self.missing: dict[str, float] = {}  # code -> monotonic time it may be asked again
        self.lock = threading.Lock()  # writers, and the generation check
        self.generation: int | None = None
        self.born = 0.0  # when the links dict was started
        self.check_due = 0.0  # next reading of the generation
        self.verified = 0.0  # last good reading

    def drop(self, now: float) -> None:
        self.links, self.missing, self.born = {}, {}, now


_state = _Cache()


class _Lookup:
    """One thread's connection and the compiled lookup for its engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self.sql = _QUERY.compile(dialect=dialect).string
        self.generation_sql = _GENERATION_QUERY.compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}
        ).string
        self.positional = dialect.paramstyle in ("qmark", "numeric", "format")
        self.prepare = dialect.name == "postgresql"
        expires_type = Link.__table__.c.expires_at.type.dialect_impl(dialect)
        self.to_datetime: Callable[[Any], Any] | None = expires_type.result_processor(dialect, None)
        self.connection = engine.raw_connection()
        self.kept_cursor = None
        if self.prepare:
            self.connection.dbapi_connection.autocommit = True
            # One cursor for all the thread's lookups: making one per lookup was about a
            # quarter of a miss's client CPU (117-122 -> 84-102 µs, 3,000 lookups on the 1M
            # table). SQLite's are closed after each read instead: a statement left open
            # holds a read transaction, and WAL checkpoints cannot pass it.
            self.kept_cursor = self.connection.dbapi_connection.cursor()

    def _one_row(self, sql: str, params: Any) -> Any:
        cursor = self.kept_cursor or self.connection.dbapi_connection.cursor()
        try:
            if self.prepare:
                cursor.execute(sql, params, prepare=True)
            else:
                cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            if cursor is not self.kept_cursor:
                cursor.close()

    def fetch(self, code: str) -> Resolved | None:
        row = self._one_row(self.sql, (code,) if self.positional else {"code": code})
        if row is None:
            return None
        expires_at = row[2]
        if expires_at is not None and self.to_datetime is not None:
            expires_at = self.to_datetime(expires_at)
        return Resolved(row[0], row[1], expires_at, bool(row[3]), row[4], row[5])

    def generation(self) -> int | None:
        row = self._one_row(self.generation_sql, ())
        return None if row is None else int(row[0])

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


def _on_lookup(engine: Engine, read: Callable[[_Lookup], Any], statement: sa.Select, params: list):
    dbapi_error = engine.dialect.loaded_dbapi.Error
    lookup = None
    try:
        lookup = _lookup(engine)
        return read(lookup)
    except dbapi_error as exc:
        _local.lookup = None
        if lookup is not None:
            lookup.discard()
        # Raised as SQLAlchemy's own error, which the app answers with a 503.
        raise sa.exc.DBAPIError.instance(
            str(statement),  # compiled only here: that costs more than the lookup
            params,
            exc,
            dbapi_error,
            connection_invalidated=True,
            dialect=engine.dialect,
        ) from exc


def fetch(code: str, engine: Engine) -> Resolved | None:
    """Read a code's link from the database (no cache)."""
    return _on_lookup(engine, lambda lookup: lookup.fetch(code), _QUERY, [code])


def read_generation(engine: Engine) -> int | None:
    """The links' generation number now (None before migration 0002's row exists)."""
    return _on_lookup(engine, _Lookup.generation, _GENERATION_QUERY, [])


def _check_generation(engine: Engine, now: float) -> None:
    """Drop the cache when a link changed since it was filled (at most once a GENERATION_CHECK)."""
    state = _state
    with state.lock:
        if now < state.check_due:  # another thread just did it
            return
        state.check_due = now + GENERATION_CHECK
        try:
            generation = read_generation(engine)
        except sa.exc.SQLAlchemyError:
            # The lookup that follows meets the same error if the cache cannot answer.
            log.debug("could not read the link generation", exc_info=True)
            if now - state.verified > STALE_LIMIT:
                state.drop(now)
            return
        if generation != state.generation or now - state.born > CACHE_TTL:
            state.drop(now)
            state.generation = generation
        state.verified = now


def resolve(code: str, engine: Engine | None = None) -> Resolved | None:
    """Look a code up (cache first); None when no link has it.

    `engine` defaults to the current app's (it needs an app context then).
    """
    now = time.monotonic()
    if now >= _state.check_due:
        _check_generation(engine if engine is not None else db.engine, now)
    state = _state
    links = state.links
    hit = links.get(code)
    if hit is not None:
        return hit
    unknown_until = state.missing.get(code)
    if unknown_until is not None and unknown_until > now:
        return None
    found = fetch(code, engine if engine is not None else db.engine)
    with state.lock:
        if state.links is not links:  # dropped while we read: what we read may be older
            return found
        if found is None:
            state.missing[code] = now + NEGATIVE_TTL
            _bound(state.missing, NEGATIVE_SIZE)
        else:
            # Disabled links too: a link taken down for abuse keeps being clicked, and
            # enabling it again moves the generation like disabling it did.
            state.missing.pop(code, None)
            state.links[code] = found
            _bound(state.links, CACHE_SIZE)
    return found


def _bound(entries: dict, size: int) -> None:
    # Oldest first (dicts keep insertion order): cheaper than an LRU's bookkeeping on
    # every hit, and with entries living minutes the difference in hit rate is small.
    while len(entries) > size:
        entries.pop(next(iter(entries)))


def forget(code: str) -> None:
    """Drop a code from this worker's cache (it was disabled, changed or just created)."""
    with _state.lock:
        _state.links.pop(code, None)
        _state.missing.pop(code, None)


def clear() -> None:
    """Drop this worker's cache and read the generation again on the next lookup."""
    with _state.lock:
        _state.drop(time.monotonic())
        _state.generation = None
        _state.check_due = 0.0
