"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, the app under
gunicorn as `make run` starts it, and a local page for short links to lead to.

One app and one browser serve the whole session (starting them is the slow part); each
test gets a fresh browser context, so cookies and "your links" never leak between tests.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.target_site import target_site
from tests.browser.watch import Watch
from tests.support.require import need
from tests.support.servers import ROOT, VENV_BIN, gunicorn_app

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download is not available; Debian's Chromium speaks its protocol.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ADMIN_TOKEN = "browser-test-admin-token"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder, so `-m "not browser"` can leave them out."""
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.gunicorn)


def migrated_sqlite(directory: Path) -> str:
    """Create and migrate a SQLite database the way `make migrate` does; return its URL."""
    url = f"sqlite:///{directory / 'shortener.db'}"
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "application", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": "browser-tests"},
        check=True,
        capture_output=True,
    )
    return url


@contextmanager
def serve_app(directory: Path, **env: str) -> Iterator[str]:
    """Run the app on a fresh SQLite database under gunicorn; yield its base URL."""
    settings = {
        "DATABASE_URL": migrated_sqlite(directory),
        "SECRET_KEY": "browser-tests",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "RATE_LIMIT_CREATE": "1000/minute",
        "TEST_LOG_DIR": str(directory),
        **env,
    }
    with gunicorn_app(settings) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Launch Debian's Chromium once for the session (skip, or fail under REQUIRE_ALL=1,
    when it is missing)."""
    need(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def app_url(chromium: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under gunicorn, shared by every browser test (started only once Chromium
    is known to be there)."""
    with serve_app(tmp_path_factory.mktemp("browser-app")) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def target_origin() -> Iterator[str]:
    """The origin of the page short links lead to."""
    with target_site() as origin:
        yield origin


@pytest.fixture
def new_context(
    chromium: Browser, app_url: str, target_origin: str
) -> Iterator[Callable[..., BrowserContext]]:
    """Open fresh browser contexts (like separate browsers); each is watched, and the test
    fails if any logged a console error, broke the CSP or fetched from another origin."""
    watches: list[Watch] = []
    contexts: list[BrowserContext] = []

    def open_context(
        viewport: dict[str, int] = DESKTOP, base_url: str = app_url, **options: object
    ) -> BrowserContext:
        context = chromium.new_context(
            base_url=base_url,
            viewport=viewport,
            permissions=["clipboard-read", "clipboard-write"],
            accept_downloads=True,
            **options,
        )
        watch = Watch(allowed_origins={base_url, target_origin})
        watch.attach(context)
        watches.append(watch)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    problems = [problem for watch in watches for problem in watch.problems()]
    assert problems == []


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh desktop-sized context."""
    return new_context().new_page()
