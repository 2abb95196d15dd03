"""The readiness check behind /readyz: a bounded database round trip and the schema's revision.

The load balancer and every deploy step poll it, so it must be cheap when all is well and
must answer within READY_TIMEOUT_SECONDS when the database is away, including the worst
case of a server that accepts connections and then never answers (a frozen host, a dropped
network): the statement timeout cannot help there, because it runs on the server. So on
PostgreSQL the check runs on its own one-connection engine, in autocommit (one round trip),
with a watchdog that shuts the socket down when time is up, which makes the blocked read
fail at once.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from shortener.extensions import db
from shortener.metrics import DB_ERRORS

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
READY_TIMEOUT_SECONDS = 2.0
_SCHEMA_QUERY = sa.text("SELECT version_num FROM alembic_version")

# One small engine per (process, database): engines must not cross gunicorn's fork.
_engines: dict[tuple[int, str], Engine] = {}
_engines_lock = threading.Lock()


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


@cache
def _revision_graph() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision, every revision something follows) of the migration files.

    Read from their `revision`/`down_revision` lines rather than through Alembic, which
    would add about 10 MB to every web worker that answers /readyz.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = dict(_REVISION_LINE.findall(path.read_text()))
        if "revision" not in fields:
            continue
        revisions.add(ast.literal_eval(fields["revision"]))
        down = ast.literal_eval(fields.get("down_revision", "None"))
        parents.update(down if isinstance(down, tuple | list) else [down] if down else [])
    return frozenset(revisions), frozenset(parents)


@cache
def schema_head() -> str | None:
    """The newest migration revision this code expects (read once, on first use)."""
    revisions, parents = _revision_graph()
    heads = revisions - parents
    if len(heads) == 1:
        return next(iter(heads))
    from alembic.script import ScriptDirectory  # branches: let Alembic decide, or say why not

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def schema_is_ahead(current: str | None) -> bool:
    """True when the schema was migrated by a newer release than this code.

    Revision ids are zero-padded sequence numbers (0001, 0002, …), so a revision this code
    does not know and that sorts after its head comes from a later release. Migrations are
    expand-then-contract, so this code still works on it: a rollback to this release must
    be able to become ready on the newer schema it leaves behind.
    """
    head = schema_head()
    return (
        current is not None
        and head is not None
        and current not in _revision_graph()[0]
        and current > head
    )


@dataclass
class Readiness:
    """The outcome of one check: ready when there are no reasons."""

    reasons: list[str] = field(default_factory=list)
    schema: str | None = None
    db_ms: float = 0.0

    @property
    def ready(self) -> bool:
        return not self.reasons


class Watchdog:
    """Shut a connection's socket down if the work on it outlasts `seconds`."""

    def __init__(self, fileno: int, seconds: float) -> None:
        self.fileno = fileno
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            # A duplicate of the descriptor: shutdown acts on the connection itself, and
            # closing the duplicate leaves the driver's own descriptor for it to clean up.
            # (OSError: it is closed already, so the blocked call has failed on its own.)
            with (
                contextlib.suppress(OSError),
                socket.socket(fileno=os.dup(self.fileno)) as sock,
            ):
                sock.shutdown(socket.SHUT_RDWR)


def probe_engine(app: Flask) -> Engine:
    """The engine the check uses: its own bounded one on PostgreSQL, the app's on SQLite."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        return db.engine
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                timeout_ms = int(READY_TIMEOUT_SECONDS * 1000)
                engine = _engines[key] = sa.create_engine(
                    url,
                    isolation_level="AUTOCOMMIT",
                    pool_size=1,
                    max_overflow=2,
                    pool_timeout=READY_TIMEOUT_SECONDS,
                    connect_args={
                        # libpq's smallest connect timeout is 2 s.
                        "connect_timeout": max(2, round(READY_TIMEOUT_SECONDS)),
                        "options": f"-c statement_timeout={timeout_ms}",
                    },
                )
    return engine


def check(app: Flask) -> Readiness:
    """Run the readiness check within about READY_TIMEOUT_SECONDS."""
    result = Readiness(schema=schema_head())
    started = time.perf_counter()
    try:
        current = _current_revision(probe_engine(app), started)
        if schema_is_ahead(current):
            result.schema = current
        elif current != result.schema:
            result.reasons.append(
                f"schema is at {current or 'nothing'}, this version needs {result.schema}"
            )
    except _Failed as failed:
        result.reasons.append(_describe(failed.error, failed.timed_out))
    except SQLAlchemyError as exc:
        result.reasons.append(_describe(exc, timed_out=False))
    result.db_ms = round((time.perf_counter() - started) * 1000, 2)
    return result


class _Failed(Exception):
    def __init__(self, error: SQLAlchemyError, timed_out: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.timed_out = timed_out


def _current_revision(engine: Engine, started: float) -> str | None:
    try:
        return _query_revision(engine, started)
    except _Failed as failed:
        # A pooled connection may have died with a restarted server since the last check;
        # that shows only on use, so one retry on a fresh connection tells the real state.
        if failed.timed_out or not failed.error.connection_invalidated:
            raise
    return _query_revision(engine, started)


def _query_revision(engine: Engine, started: float) -> str | None:
    watchdog: Watchdog | None = None
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "postgresql":
                return conn.execute(_SCHEMA_QUERY).scalar()
            remaining = READY_TIMEOUT_SECONDS - (time.perf_counter() - started)
            fileno = conn.connection.dbapi_connection.fileno()
            with Watchdog(fileno, max(remaining, 0.05)) as watchdog:
                return conn.execute(_SCHEMA_QUERY).scalar()
    except DBAPIError as exc:
        raise _Failed(exc, timed_out=watchdog is not None and watchdog.fired) from exc


def _describe(exc: SQLAlchemyError, timed_out: bool) -> str:
    """A reason safe to show publicly; the details (hosts, ports) go to the log only."""
    detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    if isinstance(exc, sa.exc.ProgrammingError) or "no such table" in detail:
        log.warning("readiness: schema missing: %s", detail)
        return f"schema is missing (no alembic_version table), this version needs {schema_head()}"
    DB_ERRORS.inc()
    if timed_out:
        log.error("readiness: database did not answer within %ss", READY_TIMEOUT_SECONDS)
        return f"database did not answer within {READY_TIMEOUT_SECONDS:g} s"
    log.error("readiness: database unavailable: %s", detail)
    return f"database unavailable ({exc.__class__.__name__})"
