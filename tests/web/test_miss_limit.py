"""The 404 rate limit (shortener/misslimit.py), in process: a scan of unknown codes ends in
429 for the scanner, before any lookup, while other clients and real links are unaffected."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from shortener import create_app, resolver
from shortener.config import ConfigError, from_environment
from shortener.extensions import db
from shortener.misslimit import MissLimit
from shortener.visits import visits
from tests.conftest import app_config
from tests.support.servers import free_port

LIMIT = 5
SCANNER = {"REMOTE_ADDR": "198.51.100.7"}
PASSER_BY = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def build(database_url: str) -> Iterator[Callable[..., Flask]]:
    """build(**config): an app on the test's database; its visits flushed afterwards."""
    built: list[Flask] = []
    resolver.clear()

    def make(**config) -> Flask:
        app = create_app(app_config(database_url, **config))
        built.append(app)
        return app

    yield make
    for app in built:
        with app.app_context():
            visits.flush()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def limited(build) -> Flask:
    return build(RATE_LIMIT_NOT_FOUND=f"{LIMIT}/minute")


def make_link(app: Flask) -> str:
    response = app.test_client().post("/api/links", json={"url": "https://example.com/real"})
    assert response.status_code == 201
    return response.get_json()["code"]


def scan(client, n: int, environ: dict = SCANNER) -> list[int]:
    return [client.get(f"/nope{i:04d}", environ_base=environ).status_code for i in range(n)]


def test_a_scan_is_answered_429_after_the_budget_and_others_are_unaffected(limited):
    code = make_link(limited)
    client = limited.test_client()

    assert scan(client, LIMIT + 3) == [404] * LIMIT + [429] * 3

    page = client.get("/nope9999", environ_base=SCANNER, headers={"Accept": "text/html"})
    assert page.status_code == 429
    assert "links that do not exist" in page.get_data(as_text=True)
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    api = client.get("/api/links/nope9999", environ_base=SCANNER)
    assert api.status_code == 429
    assert api.get_json()["error"]["type"] == "rate_limited"
    # Even a real link: the scanner is refused before any lookup.
    assert client.get(f"/{code}", environ_base=SCANNER).status_code == 429
    # Probes still tell the truth to whoever asks.
    assert client.get("/healthz", environ_base=SCANNER).status_code == 200

    # Another address: its redirects and its own typos are answered as always.
    assert client.get(f"/{code}", environ_base=PASSER_BY).status_code == 302
    assert client.get("/nope0000", environ_base=PASSER_BY).status_code == 404


def test_refused_requests_cost_no_database_lookup(limited, monkeypatch):
    code = make_link(limited)
    client = limited.test_client()
    scan(client, LIMIT)
    lookups: list[str] = []
    real_fetch = resolver.fetch
    monkeypatch.setattr(resolver, "fetch", lambda c, e: lookups.append(c) or real_fetch(c, e))
    monkeypatch.setattr("shortener.fastpath.resolve", resolver.resolve)

    assert scan(client, 20) == [429] * 20
    assert client.get(f"/{code}", environ_base=SCANNER).status_code == 429
    assert lookups == []
    assert client.get(f"/{code}", environ_base=PASSER_BY).status_code == 302
    assert lookups == [code]


def test_404s_count_wherever_they_are_answered(limited):
    client = limited.test_client()
    misses = [
        "/api/links/unknown1",  # the API's JSON 404
        "/unknown2+",  # the info page
        "/unknown3/qr.svg",  # the QR code
        "/no/such/route",  # the router's own 404
        "/unknown4",  # the redirect route
    ]
    assert [client.get(path, environ_base=SCANNER).status_code for path in misses] == [404] * 5
    assert client.get("/unknown5", environ_base=SCANNER).status_code == 429


def test_redirects_and_other_answers_do_not_count(limited):
    code = make_link(limited)
    client = limited.test_client()
    for _ in range(50):
        assert client.get(f"/{code}", environ_base=SCANNER).status_code == 302
        assert client.get("/healthz", environ_base=SCANNER).status_code == 200
    assert scan(client, LIMIT) == [404] * LIMIT


def test_the_block_ends_with_the_window(build):
    app = build(RATE_LIMIT_NOT_FOUND="2/second")
    client = app.test_client()
    assert scan(client, 3) == [404, 404, 429]
    time.sleep(1.2)
    assert scan(client, 1) == [404]


@pytest.mark.parametrize("setting", ["off", ""])
def test_the_limit_can_be_switched_off(build, setting):
    app = build(RATE_LIMIT_NOT_FOUND=setting)
    assert scan(app.test_client(), 30) == [404] * 30


def test_ratelimit_enabled_0_switches_it_off_too(build):
    app = build(RATE_LIMIT_NOT_FOUND="2/minute", RATELIMIT_ENABLED=False)
    assert scan(app.test_client(), 10) == [404] * 10


def test_a_storage_that_fails_leaves_the_limit_open_and_says_so(build, caplog):
    app = build(
        RATE_LIMIT_NOT_FOUND="2/minute",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.5},
    )
    with caplog.at_level(logging.WARNING, logger="shortener.misslimit"):
        assert scan(app.test_client(), 5) == [404] * 5
    warnings = [r for r in caplog.records if "404 rate limit not counted" in r.getMessage()]
    assert len(warnings) == 1, "one warning a minute, not one per miss"


@pytest.mark.parametrize("value", ["60/minute", "10 per second", "off", ""])
def test_rate_limit_not_found_setting_is_read(tmp_path, value):
    config = from_environment(tmp_path, {"RATE_LIMIT_NOT_FOUND": value})
    assert config["RATE_LIMIT_NOT_FOUND"] == value


def test_rate_limit_not_found_defaults_to_60_a_minute(tmp_path):
    assert from_environment(tmp_path, {})["RATE_LIMIT_NOT_FOUND"] == "60/minute"


@pytest.mark.parametrize("value", ["sixty", "60/fortnight", "-1/minute"])
def test_a_malformed_rate_limit_not_found_stops_the_app_at_start(tmp_path, value):
    with pytest.raises(ConfigError, match="RATE_LIMIT_NOT_FOUND"):
        from_environment(tmp_path, {"RATE_LIMIT_NOT_FOUND": value})


def test_the_memory_of_blocked_clients_is_bounded(limited, monkeypatch):
    monkeypatch.setattr("shortener.misslimit.MAX_REMEMBERED", 3)
    layer = limited.wsgi_app
    assert isinstance(layer, MissLimit)
    now = time.time()
    layer.block("192.0.2.1", now - 1)  # expired: dropped first
    layer.block("192.0.2.2", now + 60)
    layer.block("192.0.2.3", now + 60)
    layer.block("192.0.2.4", now + 60)
    assert set(layer.blocked) == {"192.0.2.2", "192.0.2.3", "192.0.2.4"}
    layer.block("192.0.2.5", now + 60)  # all live: start afresh rather than grow
    assert set(layer.blocked) == {"192.0.2.5"}


def test_the_api_documents_the_429_a_scanner_gets(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for method in ("get", "delete"):
        assert "429" in paths["/api/links/{code}"][method]["responses"]
