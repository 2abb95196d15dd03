"""/readyz and the schema's revision: behind is not ready; ahead (a rollback) is."""

import pytest
import sqlalchemy as sa

from shortener.extensions import db
from shortener.readiness import schema_head, schema_is_ahead


def set_revision(app, revision: str) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_a_rolled_back_release_is_ready_on_the_newer_schema_it_finds(app, client):
    newer = f"{int(schema_head()) + 1:04d}"
    set_revision(app, newer)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["schema"] == newer


@pytest.mark.parametrize("revision", ["0000", "0000_older"])
def test_a_schema_behind_the_code_is_not_ready(app, client, revision):
    set_revision(app, revision)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert f"schema is at {revision}" in response.get_json()["reasons"][0]


def test_only_unknown_later_revisions_count_as_ahead():
    head = schema_head()
    assert not schema_is_ahead(head)
    assert not schema_is_ahead(None)
    assert not schema_is_ahead("0000")
    assert schema_is_ahead("9999")
