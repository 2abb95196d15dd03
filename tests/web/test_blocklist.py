"""The domain blocklist: refused at creation (form and API), 410 at redirect once blocked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from shortener import create_app
from shortener.targets import blocked_domains
from tests.conftest import app_config, close_app, csrf_token
from tests.web.stored import assert_unchanged, seed, snapshot
from tests.web.test_fastpath import fast_path

BLOCKED = ["evil.example", "*.phish.example"]
REFUSED = {
    "the-domain": ("https://evil.example/login", "evil.example"),
    "a-subdomain": ("https://login.evil.example/", "login.evil.example"),
    "upper-case-and-dot": ("https://EVIL.example./x", "evil.example"),
    "wildcard-entry": ("http://a.b.phish.example/", "a.b.phish.example"),
    "wildcard-entry-apex": ("http://phish.example/", "phish.example"),
}
ALLOWED = ["https://notevil.example/", "https://evil.example.org/", "https://example.com/"]


def started(database_url: str, blocked: list[str]) -> Iterator[Flask]:
    """An app (as after a restart) with BLOCKED_DOMAINS set; closed after the test."""
    app = create_app(app_config(database_url, BLOCKED_DOMAINS=blocked_domains(blocked)))
    yield app
    close_app(app)


@pytest.fixture
def blocking_app(database_url: str) -> Iterator[Flask]:
    for app in started(database_url, BLOCKED):
        seed(app)
        yield app


@pytest.fixture
def restarted_blocking(database_url: str) -> Iterator[Flask]:
    yield from started(database_url, ["evil.example"])


def message(host: str) -> str:
    return f"Links to {host} are blocked here: it is on our list of abused domains."


@pytest.mark.parametrize(("url", "host"), REFUSED.values(), ids=REFUSED.keys())
def test_creation_on_a_blocked_domain_is_refused_through_the_api(blocking_app, url, host):
    before = snapshot(blocking_app)
    response = blocking_app.test_client().post("/api/links", json={"url": url})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error == {"type": "blocked_domain", "message": message(host), "field": "url"}
    assert_unchanged(blocking_app, before)


@pytest.mark.parametrize(("url", "host"), REFUSED.values(), ids=REFUSED.keys())
def test_creation_on_a_blocked_domain_is_refused_through_the_form(blocking_app, url, host):
    before = snapshot(blocking_app)
    client = blocking_app.test_client()
    data = {"url": url, "csrf_token": csrf_token(client)}
    response = client.post("/shorten", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message(host) in html
    assert 'id="url-error"' in html
    assert_unchanged(blocking_app, before)


@pytest.mark.parametrize("url", ALLOWED)
def test_other_domains_are_not_caught(blocking_app, url):
    client = blocking_app.test_client()
    response = client.post("/api/links", json={"url": url})
    assert response.status_code == 201
    assert client.get(f"/{response.get_json()['code']}").status_code == 302


def test_a_link_whose_domain_is_blocked_later_answers_410(client, restarted_blocking):
    """Links made before the block; then the app restarted with BLOCKED_DOMAINS set."""
    codes = {}
    for url in ("https://evil.example/a", "https://cdn.evil.example/b", "https://example.com/c"):
        codes[url] = client.post("/api/links", json={"url": url}).get_json()["code"]
        assert client.get(f"/{codes[url]}").status_code == 302  # and now in the redirect cache

    client = restarted_blocking.test_client()
    for url in ("https://evil.example/a", "https://cdn.evil.example/b"):
        code = codes[url]
        for method in ("GET", "HEAD"):
            gone = client.open(f"/{code}", method=method)
            assert gone.status_code == 410, (url, method)
            assert "Location" not in gone.headers
        page = client.get(f"/{code}").get_data(as_text=True)
        assert "blocked for abuse" in page
        as_json = client.get(f"/{code}", headers={"Accept": "application/json"}).get_json()
        assert as_json["error"]["type"] == "gone"
        assert client.get(f"/api/links/{code}").get_json()["status"] == "blocked"
        assert "Blocked" in client.get(f"/{code}+").get_data(as_text=True)
    # The fast path answers the link that is not blocked itself, and hands the blocked ones
    # to Flask (which answered 410 above).
    middleware = fast_path(restarted_blocking)
    flask_app, handed_over = middleware.wsgi_app, []

    def recording(environ, start_response):
        handed_over.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    middleware.wsgi_app = recording
    unblocked = client.get(f"/{codes['https://example.com/c']}")
    assert unblocked.status_code == 302
    assert unblocked.headers["Location"] == "https://example.com/c"
    assert handed_over == []
    assert client.get(f"/{codes['https://evil.example/a']}").status_code == 410
    assert handed_over == [f"/{codes['https://evil.example/a']}"]
