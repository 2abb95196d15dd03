"""The readiness check's schema head, read without Alembic, is Alembic's head."""

from alembic.script import ScriptDirectory

from shortener.readiness import MIGRATIONS_DIR, schema_head


def test_schema_head_matches_alembic():
    assert schema_head() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
