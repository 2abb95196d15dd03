"""Visits counted by gunicorn workers reach the database when gunicorn shuts down
gracefully (SIGTERM, as a deploy drains an old instance), even long before a flush is due."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from tests.ops.conftest import database_of_kind, serve


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_graceful_shutdown_writes_pending_visits(kind, tmp_path):
    with database_of_kind(kind, tmp_path) as url:
        # No flush would come for an hour: only the shutdown can write these counts.
        with serve(url, tmp_path, VISIT_FLUSH_SECONDS="3600") as app:
            created = requests.post(app.url("/api/links"), json={"url": "https://example.com/"})
            code = created.json()["code"]
            for _ in range(20):  # a new connection each: both workers answer some
                response = requests.get(app.url(f"/{code}"), allow_redirects=False)
                assert response.status_code == 302
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.text(
                        "SELECT coalesce(sum(v.visits), 0) FROM link_visits v"
                        " JOIN links l ON l.id = v.link_id WHERE l.code = :code"
                    ),
                    {"code": code},
                ).scalar_one()
        finally:
            engine.dispose()
    assert stored == 20
