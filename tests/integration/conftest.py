"""The app under real gunicorn (the Procfile's command), on each supported database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import TEST_DATABASE_URL, scratch_postgres_database
from tests.support.require import need
from tests.support.servers import ROOT, gunicorn_app

ADMIN_TOKEN = "integration-admin-token"


def flask_db_upgrade(database_url: str) -> None:
    """Migrate as an operator would: `flask --app application db upgrade`."""
    subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "application", "db", "upgrade"],
        cwd=ROOT,
        env={**_base_env(), "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


def _base_env() -> dict[str, str]:
    import os

    return {**os.environ, "SECRET_KEY": "integration-secret"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_server(request, tmp_path_factory) -> Iterator[str]:
    """Base URL of a migrated app under gunicorn with 2 workers."""
    if request.param == "postgres":
        need(bool(TEST_DATABASE_URL), "TEST_DATABASE_URL is not set (PostgreSQL tests)")
        context = scratch_postgres_database()
    else:
        path = tmp_path_factory.mktemp("live") / "live.db"
        context = _nullcontext(f"sqlite:///{path}")
    with context as database_url:
        flask_db_upgrade(database_url)
        env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "integration-secret",
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "RATE_LIMIT_CREATE": "1000/minute",
            "TEST_LOG_DIR": str(tmp_path_factory.mktemp("logs")),
        }
        with gunicorn_app(env, workers=2) as base_url:
            yield base_url


class _nullcontext:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False
