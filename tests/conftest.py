"""Fixtures: an app on a fresh database (SQLite, and PostgreSQL when TEST_DATABASE_URL is
set), its test client and CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from shortener import create_app, resolver
from shortener.extensions import db, limiter
from shortener.visits import visits
from tests.support.databases import TEST_DATABASE_URL, scratch_postgres_database
from tests.support.require import need

ADMIN_TOKEN = "test-admin-token"
BASE_URL = "http://sho.rt"


def app_config(database_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": BASE_URL,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "RATE_LIMIT_CREATE": "1000/minute",
        "RATE_LIMIT_NOT_FOUND": "1000/minute",
        "VISIT_FLUSH_SECONDS": 3600,
        **extra,
    }


def migrate(database_url: str) -> None:
    app = create_app(app_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    need(bool(TEST_DATABASE_URL), "TEST_DATABASE_URL is not set (PostgreSQL tests)")
    with scratch_postgres_database() as url:
        migrate(url)
        yield url


def empty_database(request, kind: str, directory: Path) -> str:
    """The URL of a migrated, empty database of `kind` ("sqlite" in `directory`, "postgres")."""
    if kind == "sqlite":
        path = directory / "shortener.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE links, link_files RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    """A migrated, empty database of each supported kind."""
    return empty_database(request, request.param, tmp_path)


def close_app(app: Flask) -> None:
    """Write its buffered visits and close its connections, before the database goes."""
    with app.app_context():
        visits.flush()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    resolver.clear()
    app = create_app(app_config(database_url))
    with app.app_context():
        limiter.reset()
    yield app
    close_app(app)


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def csrf_token(client) -> str:
    """Fetch the form like a browser and return its CSRF token."""
    html = client.get("/").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
