"""Databases for tests: a throwaway PostgreSQL database per test session, SQLite files."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def sqlalchemy_url(url: str) -> str:
    """Name the psycopg 3 driver in a plain postgresql:// URL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


@contextmanager
def scratch_postgres_database() -> Iterator[str]:
    """Create a uniquely named database next to TEST_DATABASE_URL's, yield its URL, drop it.

    Several test runs (and CI) may share one server; a database each keeps them apart.
    """
    base = make_url(sqlalchemy_url(TEST_DATABASE_URL))
    name = f"shortener_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
