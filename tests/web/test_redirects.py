"""Following short links: redirects, downloads, 404 and 410."""

from datetime import UTC, datetime, timedelta

import pytest

from shortener import resolver
from shortener.extensions import db
from shortener.links import set_disabled
from shortener.models import Link
from shortener.visits import visits


def make(client, url="https://example.com/target", **extra):
    return client.post("/api/links", json={"url": url, **extra}).get_json()["code"]


def test_redirect_is_302_to_the_target(client):
    code = make(client)
    response = client.get(f"/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/target"


def test_head_redirects_too(client):
    code = make(client)
    response = client.head(f"/{code}")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/target"


@pytest.mark.parametrize("status", [301, 307, 308])
def test_redirect_status_is_configurable(app, client, status):
    app.config["REDIRECT_STATUS"] = status
    assert client.get(f"/{make(client)}").status_code == status


def test_redirect_sets_no_cookie_and_needs_no_session(client):
    response = client.get(f"/{make(client)}")
    assert "Set-Cookie" not in response.headers


def test_query_and_unicode_survive_without_header_injection(client):
    code = make(client, url="https://example.com/ä?q=a b".replace(" ", "%20"))
    assert client.get(f"/{code}").headers["Location"] == "https://example.com/%C3%A4?q=a%20b"


def test_unknown_code_is_a_friendly_404_page(client):
    response = client.get("/does-not-exist")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "That short link does not exist" in html
    assert 'href="/"' in html


def test_unknown_code_is_json_for_json_clients(client):
    response = client.get("/does-not-exist", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["type"] == "not_found"


def test_disabled_link_is_410(app, client):
    code = make(client)
    client.get(f"/{code}")  # cached now
    with app.app_context():
        set_disabled(code)
    response = client.get(f"/{code}")
    assert response.status_code == 410
    assert "no longer available" in response.get_data(as_text=True)
    assert client.head(f"/{code}").status_code == 410


def test_expired_link_is_410(app, client):
    code = make(client, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert client.get(f"/{code}").status_code == 302
    with app.app_context():
        link = db.session.execute(db.select(Link).where(Link.code == code)).scalar_one()
        link.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    resolver.clear()
    assert client.get(f"/{code}").status_code == 410


def test_cached_expiry_still_applies(app, client):
    soon = datetime.now(UTC) + timedelta(hours=1)
    code = make(client, expires_at=soon.isoformat())
    client.get(f"/{code}")
    with app.app_context():
        hit = resolver.resolve(code)
    assert hit.expires_at == soon.replace(microsecond=hit.expires_at.microsecond)


def test_visits_are_counted_in_memory_then_flushed(app, client):
    code = make(client)
    for _ in range(5):
        client.get(f"/{code}")
    with app.app_context():
        link = db.session.execute(db.select(Link).where(Link.code == code)).scalar_one()
        assert link.visits == 0  # nothing written on the redirect path
        assert visits.pending(link.id) == 5
        assert visits.flush() == 5
        db.session.refresh(link)
        assert link.visits == 5
        assert link.last_visited_at is not None
        assert visits.pending(link.id) == 0


def test_reserved_paths_are_not_codes(client):
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/api").status_code == 200


@pytest.mark.parametrize("path", ["/a.b", "/%0d%0aSet-Cookie:x", "/" + "a" * 65])
def test_paths_that_cannot_be_codes_are_404(client, path):
    assert client.get(path).status_code == 404
