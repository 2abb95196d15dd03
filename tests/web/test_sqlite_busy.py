"""SQLite with another writer holding the lock: a create waits (busy timeout), tries again
(links.py), and only a lock held past every retry is answered 503, never with SQLite's words."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from shortener import create_app
from shortener.extensions import db
from shortener.links import BUSY_RETRIES
from tests.conftest import app_config

BUSY_MS = 200  # the busy timeout in these tests (DB_STATEMENT_TIMEOUT_MS)


@pytest.fixture
def sqlite_app(tmp_path, sqlite_template) -> Iterator[tuple[Flask, str]]:
    path = tmp_path / "busy.db"
    path.write_bytes(sqlite_template.read_bytes())
    app = create_app(app_config(f"sqlite:///{path}", DB_STATEMENT_TIMEOUT_MS=BUSY_MS))
    yield app, str(path)
    with app.app_context():
        db.engine.dispose()


def hold_write_lock(path: str, seconds: float) -> threading.Thread:
    """Another writer (another worker, say) holds SQLite's write lock for `seconds`."""
    locked = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(5)
    return thread


def test_a_create_waits_out_a_lock_longer_than_the_busy_timeout(sqlite_app):
    app, path = sqlite_app
    # Longer than one busy timeout, shorter than all the retries together.
    holder = hold_write_lock(path, 2.5 * BUSY_MS / 1000)
    response = app.test_client().post("/api/links", json={"url": "https://example.com/busy"})
    holder.join()
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_lock_held_past_every_retry_is_a_503_without_sqlites_words(sqlite_app):
    app, path = sqlite_app
    holder = hold_write_lock(path, (BUSY_RETRIES + 2) * BUSY_MS / 1000 + 0.5)
    try:
        response = app.test_client().post("/api/links", json={"url": "https://example.com/busy"})
    finally:
        holder.join()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "locked" not in response.get_data(as_text=True)
    # And nothing half-done stayed behind: the next create succeeds.
    again = app.test_client().post("/api/links", json={"url": "https://example.com/after"})
    assert again.status_code == 201
