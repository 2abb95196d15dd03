"""The benchmark's data sets: loaded once, reused, and reset to a fresh load's state."""

import sqlite3
from pathlib import Path

import psycopg
import pytest

from sre import bench_data as data
from tests.support.databases import TEST_DATABASE_URL, scratch_postgres_database
from tests.support.require import need

ROOT = Path(__file__).resolve().parents[2]
SIZE = 20


def test_a_reused_sqlite_data_set_starts_without_earlier_runs_visits(tmp_path):
    dataset = data.sqlite_dataset(tmp_path, "links-20", SIZE)
    assert data.prepare_sqlite(dataset, ROOT) is True
    path = tmp_path / "links-20.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO link_visits (link_id, visits, last_visited_at)"
            " SELECT id, 5, '2026-12-03 00:00:00' FROM links"
        )
    conn.close()

    assert data.prepare_sqlite(dataset, ROOT) is False  # reused, not loaded again
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == SIZE
        assert conn.execute("SELECT count(*) FROM link_visits").fetchone()[0] == 0
    conn.close()


@pytest.fixture
def postgres_base():
    need(bool(TEST_DATABASE_URL), "TEST_DATABASE_URL is not set (PostgreSQL tests)")
    with scratch_postgres_database() as url:
        yield url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_a_reused_postgres_data_set_starts_without_earlier_runs_visits(postgres_base):
    name = postgres_base.rpartition("/")[2]
    dataset = data.postgres_dataset(postgres_base, name, "links-20-pg", SIZE)
    assert data.prepare_postgres(dataset, ROOT) is True
    with psycopg.connect(dataset.url) as conn:
        conn.execute(
            "INSERT INTO link_visits (link_id, visits, last_visited_at)"
            " SELECT id, 5, now() FROM links"
        )

    assert data.prepare_postgres(dataset, ROOT) is False
    with psycopg.connect(dataset.url) as conn:
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == SIZE
        assert conn.execute("SELECT count(*) FROM link_visits").fetchone()[0] == 0


def test_a_sqlite_data_set_is_read_through_with_its_wal(tmp_path):
    dataset = data.sqlite_dataset(tmp_path, "links-20", SIZE)
    data.prepare_sqlite(dataset, ROOT)
    path = tmp_path / "links-20.sqlite3"
    wal = Path(f"{path}-wal")
    # A worker's open connection keeps the WAL (the last one to close removes it).
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        with conn:
            conn.execute("UPDATE links SET visits = 1")
        assert wal.stat().st_size > 0

        both = path.stat().st_size + wal.stat().st_size
        assert data.read_into_page_cache(dataset, chunk=4096) == both
    finally:
        conn.close()


def test_a_postgres_data_set_is_left_to_the_servers_own_buffers():
    dataset = data.postgres_dataset(data.DEFAULT_POSTGRES_URL, "unused", "links-20-pg", SIZE)
    assert data.read_into_page_cache(dataset) == 0
