"""Benchmark data sets: links tables of a given size on SQLite and PostgreSQL, loaded in
bulk (not through the API), kept between runs, and a random sample of their codes."""

from __future__ import annotations

import os
import random
import sqlite3
import string
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7
SEED = 20261203
# Codes per sample file, drawn at random from the whole table. At 1,000,000 links the
# first request for each code, and every request after its cache entry's TTL, reads the
# database (see docs/performance.md for the hit rates and for a larger sample).
SAMPLE_SIZE = 10_000
CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/shortener_bench"


class DataError(RuntimeError):
    """A data set could not be prepared; the message says why."""


@dataclass(frozen=True)
class Dataset:
    """One links table of `size` rows: its URL for the app, and where its code sample goes."""

    name: str
    kind: str  # "sqlite" or "postgres"
    size: int
    url: str  # as the app's DATABASE_URL takes it


def generate_codes(count: int, seed: int = SEED) -> list[str]:
    """`count` distinct random codes shaped like the app's, the same for a given seed."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    seen: set[str] = set()
    codes: list[str] = []
    while len(codes) < count:
        code = "".join(rng.choices(ALPHABET, k=CODE_LENGTH))
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return codes


def target_of(index: int) -> str:
    return f"https://example.com/articles/{index}?utm_source=short"


def migrate(database_url: str, root: Path) -> None:
    """Bring a database to the app's schema head with the app's own migrations."""
    env = {**os.environ, "DATABASE_URL": database_url, "BASE_URL": "http://127.0.0.1"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "application", "db", "upgrade"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DataError(f"migrating {database_url} failed:\n{result.stderr[-2000:]}")


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_dataset(directory: Path, name: str, size: int) -> Dataset:
    path = (directory / f"{name}.sqlite3").resolve()
    return Dataset(name=name, kind="sqlite", size=size, url=f"sqlite:///{path}")


def _sqlite_path(dataset: Dataset) -> Path:
    return Path(dataset.url.removeprefix("sqlite:///"))


def _sqlite_count(path: Path) -> int | None:
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT count(*) FROM links").fetchone()[0]
    except sqlite3.Error:
        return None


# A reused data set starts each run as a fresh load does: the visit counts of earlier runs
# (each run samples other codes) would otherwise grow the table a flush rewrites, run after
# run, and make a run's figures depend on how many ran before it. PostgreSQL truncates:
# a DELETE would leave dead rows for a vacuum, and a server may run without autovacuum.
CLEAR_VISITS = "DELETE FROM link_visits"
CLEAR_VISITS_POSTGRES = "TRUNCATE link_visits"


def prepare_sqlite(dataset: Dataset, root: Path) -> bool:
    """Make the SQLite file hold exactly `size` links; return True when it was (re)loaded."""
    path = _sqlite_path(dataset)
    if _sqlite_count(path) == dataset.size:
        migrate(dataset.url, root)  # a no-op unless the code brought a new migration
        conn = sqlite3.connect(path)
        try:
            with conn:
                conn.execute(CLEAR_VISITS)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return False
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate(dataset.url, root)
    if dataset.size:
        created = CREATED_AT.strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = (
            (code, target_of(i), created) for i, code in enumerate(generate_codes(dataset.size))
        )
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA synchronous=OFF")
            with conn:
                conn.executemany(
                    "INSERT INTO links (code, target_url, created_at, visits) VALUES (?, ?, ?, 0)",
                    rows,
                )
            conn.execute("ANALYZE")
        finally:
            conn.close()
    return True


def reset_sqlite(dataset: Dataset, root: Path) -> None:
    """An empty, migrated SQLite file (for the creation benchmark)."""
    path = _sqlite_path(dataset)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate(dataset.url, root)


def read_into_page_cache(dataset: Dataset, chunk: int = 1 << 20) -> int:
    """Read a SQLite data set's files through once; return the bytes read (0 on PostgreSQL).

    The benchmark calls this before each round. A kernel may drop page cache that no process
    has touched for a while (this VM's reclaims unmapped file pages idle for about a minute,
    which is how long a target waits between its rounds), and the 1,000,000-link file's
    visit flush then reads its pages back from disk, at a cost the kernel bills to the
    workers: the round measures the reclaim, not the table's size (see docs/performance.md).
    A server in use keeps the pages it needs cached, so the round starts from that state.
    PostgreSQL's workers read nothing from disk: the server does, and answers most of its
    reads from its own shared buffers, which the kernel's reclaim leaves alone.
    """
    if dataset.kind != "sqlite":
        return 0
    path = _sqlite_path(dataset)
    total = 0
    for file in (path, Path(f"{path}-wal")):
        if not file.exists():
            continue
        with file.open("rb", buffering=0) as handle:
            while block := handle.read(chunk):
                total += len(block)
    return total


# --- PostgreSQL ----------------------------------------------------------------------------


def postgres_dataset(base_url: str, database: str, name: str, size: int) -> Dataset:
    head, _, _ = base_url.rpartition("/")
    return Dataset(name=name, kind="postgres", size=size, url=f"{head}/{database}")


def ensure_postgres_database(url: str) -> None:
    """Create the database `url` names when the server does not have it yet."""
    head, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{head}/postgres", autocommit=True, connect_timeout=5) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            exists = conn.execute(query, (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise DataError(f"PostgreSQL at {head} is not usable: {exc}") from exc


def _postgres_count(url: str) -> int | None:
    with psycopg.connect(url, connect_timeout=5) as conn:
        try:
            return conn.execute("SELECT count(*) FROM links").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return None


def prepare_postgres(dataset: Dataset, root: Path) -> bool:
    """Make the database hold exactly `size` links; return True when it was (re)loaded."""
    ensure_postgres_database(dataset.url)
    migrate(dataset.url, root)
    if _postgres_count(dataset.url) == dataset.size:
        with psycopg.connect(dataset.url) as conn:
            conn.execute(CLEAR_VISITS_POSTGRES)
        return False
    with psycopg.connect(dataset.url) as conn:
        conn.execute("TRUNCATE links, link_files RESTART IDENTITY CASCADE")
        copy_sql = "COPY links (code, target_url, created_at, visits) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for i, code in enumerate(generate_codes(dataset.size)):
                copy.write_row((code, target_of(i), CREATED_AT, 0))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE links")
    return True


def reset_postgres(dataset: Dataset, root: Path) -> None:
    """An empty, migrated database (for the creation benchmark)."""
    ensure_postgres_database(dataset.url)
    migrate(dataset.url, root)
    with psycopg.connect(dataset.url) as conn:
        conn.execute("TRUNCATE links, link_files RESTART IDENTITY CASCADE")


# --- samples -------------------------------------------------------------------------------


def sample_codes(dataset: Dataset, path: Path, count: int = SAMPLE_SIZE) -> int:
    """Write up to `count` codes drawn at random from the table to `path`; return how many."""
    query = f"SELECT code FROM links ORDER BY random() LIMIT {int(count)}"  # noqa: S608
    if dataset.kind == "sqlite":
        with sqlite3.connect(_sqlite_path(dataset)) as conn:
            codes = [row[0] for row in conn.execute(query)]
    else:
        with psycopg.connect(dataset.url) as conn:
            codes = [row[0] for row in conn.execute(query)]
    if not codes:
        raise DataError(f"{dataset.name} has no links to sample")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(codes) + "\n")
    return len(codes)


def first_target(dataset: Dataset, code: str) -> str | None:
    """The stored target of `code` (to check that redirects go where they should)."""
    query = "SELECT target_url FROM links WHERE code = ?"
    if dataset.kind == "sqlite":
        with sqlite3.connect(_sqlite_path(dataset)) as conn:
            row = conn.execute(query, (code,)).fetchone()
    else:
        with psycopg.connect(dataset.url) as conn:
            row = conn.execute(query.replace("?", "%s"), (code,)).fetchone()
    return row[0] if row else None


def count_links(dataset: Dataset) -> int:
    """How many links the data set holds now."""
    if dataset.kind == "sqlite":
        return _sqlite_count(_sqlite_path(dataset)) or 0
    return _postgres_count(dataset.url) or 0
