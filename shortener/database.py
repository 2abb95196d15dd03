"""Engine settings per database: bounded waits everywhere, SQLite tuned for a web server."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError


def database_locked(exc: DBAPIError) -> bool:
    """True when SQLite gave up waiting for another writer (SQLITE_BUSY or SQLITE_LOCKED)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def engine_options(url: str, connect_timeout: int, statement_timeout_ms: int) -> dict:
    """SQLALCHEMY_ENGINE_OPTIONS for `url`."""
    if url.startswith("postgresql"):
        return {
            # A connection that died with the server is noticed and replaced, so workers
            # recover on their own when the database comes back.
            "pool_pre_ping": True,
            "pool_size": 5,
            "max_overflow": 5,
            "pool_timeout": connect_timeout,
            "pool_recycle": 1800,
            "connect_args": {
                "connect_timeout": connect_timeout,
                "options": f"-c statement_timeout={statement_timeout_ms}",
                # A host that vanished (failover, lost network) stops acknowledging: give up
                # on it after as long as a statement may take, instead of the kernel's
                # ~15 minutes of retransmissions. A slow but live server still acknowledges
                # at once, so this never cuts a running query short.
                "tcp_user_timeout": statement_timeout_ms,
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            },
        }
    if url.startswith("sqlite"):
        # sqlite3's timeout is SQLite's busy timeout: a writer waits this long for another
        # worker's write to finish before "database is locked" (links.py then retries).
        return {"connect_args": {"timeout": statement_timeout_ms / 1000}}
    return {}


@sa.event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL: readers never wait for the writer; NORMAL is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Small page cache and no mmap: each worker keeps a connection per thread, and both
    # count as its resident memory (mmap over a 1M-link file took a worker past 100 MB).
    # Pages not cached here come from the OS page cache, which every worker shares.
    cursor.execute("PRAGMA cache_size=-512")
    cursor.close()
