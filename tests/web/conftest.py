"""One app per database kind for a whole module of refused requests (tests/web/stored.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from shortener import create_app, resolver
from shortener.extensions import limiter
from tests.conftest import app_config, close_app, empty_database
from tests.web.stored import seed


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded_app(request, tmp_path_factory) -> Iterator[Flask]:
    """An app on a database holding tests/web/stored.py's links, shared by a module's tests:
    each of them refuses something and checks that nothing stored changed, so sharing it
    proves that too, and saves building an app and a database per case."""
    url = empty_database(request, request.param, tmp_path_factory.mktemp("seeded"))
    resolver.clear()
    app = create_app(app_config(url, RATELIMIT_ENABLED=False))
    with app.app_context():
        limiter.reset()
    seed(app)
    yield app
    close_app(app)
    resolver.clear()
