"""The resolver's cache: links stay cached until the database's link generation moves, and
unknown codes are remembered for a second. "Another worker" here is a second connection
that changes the database without telling this process, as another worker, the previous
release or an operator's SQL would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from shortener import resolver
from shortener.extensions import db
from shortener.links import set_disabled


class Clock:
    """Stands in for time.monotonic in the resolver, so intervals are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(resolver, "time", fake)
    resolver.clear()
    return fake


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """The codes the resolver read from the database, in order."""
    seen: list[str] = []
    real = resolver.fetch

    def counting(code, engine):
        seen.append(code)
        return real(code, engine)

    monkeypatch.setattr(resolver, "fetch", counting)
    return seen


def make(client, **extra) -> str:
    response = client.post("/api/links", json={"url": "https://example.com/t", **extra})
    assert response.status_code == 201
    return response.get_json()["code"]


def elsewhere(app, statement: str, **params) -> None:
    """Run SQL on a connection of its own, committed, as another process would."""
    with app.app_context():
        engine = sa.create_engine(db.engine.url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(statement), params)
        finally:
            engine.dispose()


def generation(app) -> int:
    with app.app_context():
        return resolver.read_generation(db.engine)


def test_disabling_elsewhere_reaches_this_worker_within_the_check_interval(app, client, clock):
    code = make(client)
    assert client.get(f"/{code}").status_code == 302  # cached now
    elsewhere(
        app,
        "UPDATE links SET disabled_at = :at WHERE code = :code",
        at=datetime.now(UTC),
        code=code,
    )
    # Until the next reading of the generation the cache still answers: that is the bound.
    clock.now += resolver.GENERATION_CHECK / 2
    assert client.get(f"/{code}").status_code == 302
    clock.now += resolver.GENERATION_CHECK / 2
    assert client.get(f"/{code}").status_code == 410


def test_cached_links_need_no_database_until_a_link_changes(app, client, clock, lookups):
    code = make(client)
    other = make(client)
    for _ in range(3):
        assert client.get(f"/{code}").status_code == 302
        clock.now += resolver.GENERATION_CHECK * 5
    assert lookups == [code]
    elsewhere(
        app,
        "UPDATE links SET disabled_at = :at WHERE code = :code",
        at=datetime.now(UTC),
        code=other,
    )
    clock.now += resolver.GENERATION_CHECK
    assert client.get(f"/{code}").status_code == 302
    assert lookups == [code, code]  # every cached link was dropped, and read again


def test_the_worker_that_disables_forgets_at_once(app, client, clock):
    code = make(client)
    assert client.get(f"/{code}").status_code == 302
    with app.app_context():
        set_disabled(code)
    assert client.get(f"/{code}").status_code == 410


def test_triggers_bump_the_generation_on_link_changes_only(app, client):
    code = make(client)
    before = generation(app)
    client.get(f"/{code}")
    with app.app_context():
        app.extensions["visits"].flush()
    elsewhere(app, "UPDATE links SET owner = 'someone' WHERE code = :code", code=code)
    assert generation(app) == before  # visits and owners do not touch cached fields
    for statement in (
        "UPDATE links SET disabled_at = CURRENT_TIMESTAMP WHERE code = :code",
        "UPDATE links SET disabled_at = NULL WHERE code = :code",
        "UPDATE links SET target_url = 'https://example.com/other' WHERE code = :code",
        "UPDATE links SET expires_at = CURRENT_TIMESTAMP WHERE code = :code",
        "DELETE FROM links WHERE code = :code",
    ):
        elsewhere(app, statement, code=code)
        assert generation(app) > before, statement
        before = generation(app)


def test_without_the_generation_the_cache_answers_only_for_the_stale_limit(
    app, client, clock, monkeypatch
):
    code = make(client)
    assert client.get(f"/{code}").status_code == 302

    def unreachable(engine):
        raise sa.exc.OperationalError("SELECT generation", {}, Exception("database away"))

    monkeypatch.setattr(resolver, "read_generation", unreachable)
    clock.now += resolver.STALE_LIMIT - 1
    assert client.get(f"/{code}").status_code == 302  # answered from the cache
    clock.now += 2
    # Cache dropped: the lookup reads the database (reachable in this test) again.
    elsewhere(app, "UPDATE links SET disabled_at = CURRENT_TIMESTAMP WHERE code = :code", code=code)
    assert client.get(f"/{code}").status_code == 410


def test_an_unknown_code_is_read_once_per_negative_ttl(app, client, clock, lookups):
    for _ in range(5):
        assert client.get("/nosuchx").status_code == 404
    assert lookups == ["nosuchx"]
    clock.now += resolver.NEGATIVE_TTL
    assert client.get("/nosuchx").status_code == 404
    assert lookups == ["nosuchx", "nosuchx"]


def test_creating_a_code_forgets_that_it_was_unknown(app, client, clock):
    assert client.get("/fresh-one").status_code == 404
    make(client, code="fresh-one")
    assert client.get("/fresh-one").status_code == 302


def test_a_code_created_elsewhere_resolves_within_the_negative_ttl(app, client, clock):
    assert client.get("/made-elsewhere").status_code == 404
    elsewhere(
        app,
        "INSERT INTO links (code, target_url, created_at, visits)"
        " VALUES ('made-elsewhere', 'https://example.com/e', :at, 0)",
        at=datetime.now(UTC),
    )
    assert client.get("/made-elsewhere").status_code == 404  # remembered as unknown
    clock.now += resolver.NEGATIVE_TTL
    assert client.get("/made-elsewhere").status_code == 302


def test_a_disabled_link_is_read_once_and_enabling_it_elsewhere_is_seen(
    app, client, clock, lookups
):
    code = make(client)
    with app.app_context():
        set_disabled(code)
    for _ in range(3):
        assert client.get(f"/{code}").status_code == 410
    assert lookups == [code]  # clicks on a taken-down link do not each reach the database
    elsewhere(app, "UPDATE links SET disabled_at = NULL WHERE code = :code", code=code)
    clock.now += resolver.GENERATION_CHECK
    assert client.get(f"/{code}").status_code == 302
