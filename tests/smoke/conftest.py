"""The smoke suite runs over HTTP against SMOKE_BASE_URL, or against an app it starts itself.

`make smoke BASE_URL=...` (and verify-bundle, and Jenkins) set SMOKE_BASE_URL. Inside
`make test` it is unset: the suite then starts the app under gunicorn, as the Procfile does,
on a freshly migrated SQLite database, so CI proves the suite itself.

SMOKE_ADMIN_TOKEN, when set, disables the links the suite created once it is done.
EXPECTED_VERSION, when set, must equal /version's "version".
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import requests

from tests.smoke.local import migrate
from tests.smoke.target import CODE_PREFIX, HEADERS, TARGET_PREFIX, TIMEOUT, SmokeTarget
from tests.support.servers import gunicorn_app


@pytest.fixture(scope="session")
def smoke_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmokeTarget]:
    """The deployment to smoke; disable the links the run created at the end."""
    base_url = os.environ.get("SMOKE_BASE_URL", "")
    expected_version = os.environ.get("EXPECTED_VERSION", "")
    if base_url:
        target = SmokeTarget(base_url, os.environ.get("SMOKE_ADMIN_TOKEN", ""), expected_version)
        yield target
        disable_created_links(target)
        return
    tmp = tmp_path_factory.mktemp("smoke")
    database_url = f"sqlite:///{tmp / 'smoke.db'}"
    migrate(database_url)
    admin_token = secrets.token_urlsafe(24)
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ADMIN_TOKEN": admin_token,
        "TEST_LOG_DIR": str(tmp),
    }
    with gunicorn_app(env) as url:
        target = SmokeTarget(url, admin_token, expected_version)
        yield target
        disable_created_links(target)


def disable_created_links(target: SmokeTarget) -> None:
    """Disable every link the run created, so smoke runs leave no clutter in production."""
    if not target.admin_token:
        return
    failures = []
    for code in target.created:
        response = requests.delete(
            target.url(f"/api/links/{code}"),
            headers={**HEADERS, "Authorization": f"Bearer {target.admin_token}"},
            timeout=TIMEOUT,
        )
        if response.status_code >= 300:
            failures.append(f"DELETE {code}: {response.status_code}")
            continue
        # Ask the API (the database), not the redirect: another worker may still serve the
        # link from its resolver cache for up to shortener.resolver.GENERATION_CHECK seconds.
        link = requests.get(target.url(f"/api/links/{code}"), timeout=TIMEOUT, headers=HEADERS)
        if link.status_code != 200 or not link.json().get("disabled_at"):
            failures.append(f"GET /api/links/{code} after disabling: not disabled ({link.text})")
    assert not failures, f"could not disable smoke links: {failures}"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A fresh browser-like session (its own cookie jar) per test."""
    with requests.Session() as session:
        session.headers.update(HEADERS)
        yield session


@pytest.fixture
def new_link() -> tuple[str, str]:
    """A fresh (code, target) pair carrying the recognizable smoke prefixes."""
    token = secrets.token_hex(5)
    return f"{CODE_PREFIX}{token}", f"{TARGET_PREFIX}{token}?from=smoke"
