"""Every page loads only from our server, logs no console error and keeps to the CSP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import ADMIN_TOKEN
from tests.browser.watch import Watch

CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"


def create_link(app_url: str, url: str, code: str) -> None:
    """Make a link through the JSON API (the form is tested elsewhere)."""
    request = urllib.request.Request(
        f"{app_url}/api/links",
        data=json.dumps({"url": url, "code": code}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def disable_link(app_url: str, code: str) -> None:
    request = urllib.request.Request(
        f"{app_url}/api/links/{code}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        method="DELETE",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204)


def test_every_page_is_self_contained(
    new_context: Callable[..., BrowserContext], app_url: str, target_origin: str
):
    create_link(app_url, f"{target_origin}/hygiene", "hygiene")
    create_link(app_url, f"{target_origin}/gone", "gone-link")
    disable_link(app_url, "gone-link")
    page = new_context().new_page()
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))

    for path, status in [("/", 200), ("/hygiene+", 200), ("/no-such-link", 404)]:
        response = page.goto(path)
        assert response is not None and response.status == status
        assert response.headers["content-security-policy"].startswith(CSP)
        page.wait_for_load_state("networkidle")
    response = page.goto("/gone-link")
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is no longer available")

    # The stylesheet, the script, the icon and the QR code did load, all from the app.
    for static in ("/static/style.css", "/static/app.js", "/static/favicon.svg", "/hygiene/qr.svg"):
        assert f"{app_url}{static}" in loaded
    assert all(url.startswith(app_url) for url in loaded)


def test_the_watch_sees_what_it_looks_for(chromium: Browser, app_url: str, target_origin: str):
    """A watch that never fires proves nothing: provoke each problem once."""
    context = chromium.new_context(base_url=app_url)
    watch = Watch(allowed_origins={app_url})
    watch.attach(context)
    page = context.new_page()
    page.goto("/")
    page.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
        console.error("provoked console error");
    }"""
    )
    # The violation event is dispatched asynchronously: let it reach Python before leaving.
    for _ in range(50):
        if watch.csp_violations:
            break
        page.wait_for_timeout(100)
    page.goto(target_origin)
    context.close()
    assert any("script-src" in report for report in watch.csp_violations), watch.csp_violations
    assert "provoked console error" in watch.console_errors
    assert watch.foreign_requests == [f"{target_origin}/"]
