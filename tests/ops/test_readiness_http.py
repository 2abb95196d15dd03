"""/readyz says why it is not ready, and answers within a couple of seconds whatever happens."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from shortener.readiness import schema_head
from tests.ops.conftest import database_of_kind, serve
from tests.support.databases import sqlalchemy_url
from tests.support.servers import free_port

pytestmark = [pytest.mark.gunicorn]

BOUND_SECONDS = 4.0  # READY_TIMEOUT_SECONDS is 2; generous for a loaded CI machine


def readyz(base_url: str) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    response = requests.get(f"{base_url}/readyz", timeout=30)
    return response, time.perf_counter() - started


def assert_not_ready(response: requests.Response, *fragments: str) -> list[str]:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    body = response.json()
    assert body["status"] == "unavailable"
    reasons = body["reasons"]
    assert any(all(f in reason for f in fragments) for reason in reasons), reasons
    return reasons


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_not_ready_on_an_empty_database(kind: str, tmp_path):
    with database_of_kind(kind, tmp_path, migrated=False) as url, serve(url, tmp_path) as app:
        response, _ = readyz(app.base_url)
        assert_not_ready(response, "schema is missing", str(schema_head()))
        # Liveness does not care: the process is fine, it is the database that is not.
        assert requests.get(f"{app.base_url}/healthz", timeout=10).status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_not_ready_while_the_schema_is_behind_and_ready_again_after(kind: str, tmp_path):
    with database_of_kind(kind, tmp_path) as url, serve(url, tmp_path) as app:
        engine = sa.create_engine(sqlalchemy_url(url))
        try:
            assert readyz(app.base_url)[0].status_code == 200
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000_older'"))
            for _ in range(4):  # every worker sees it, no cache
                assert_not_ready(readyz(app.base_url)[0], "schema is at 0000_older", "needs")
            with engine.begin() as conn:
                conn.execute(
                    sa.text("UPDATE alembic_version SET version_num = :head"),
                    {"head": schema_head()},
                )
            for _ in range(4):
                assert readyz(app.base_url)[0].status_code == 200
        finally:
            engine.dispose()


def test_not_ready_when_nothing_listens_on_the_database_port(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/shortener"
    with serve(url, tmp_path) as app:
        response, seconds = readyz(app.base_url)
        reasons = assert_not_ready(response, "database unavailable (OperationalError)")
        assert seconds < BOUND_SECONDS
        # The reason is public: it names no host or port.
        assert not any("127.0.0.1" in reason for reason in reasons)
        metrics = requests.get(f"{app.base_url}/metrics", timeout=10).text
        assert "shortener_db_errors_total 0.0" not in metrics


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port whose listening socket completes handshakes and then never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def test_readyz_is_bounded_when_the_database_never_answers(blackhole: int, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{blackhole}/shortener"
    with serve(url, tmp_path) as app:
        for _ in range(2):
            response, seconds = readyz(app.base_url)
            assert_not_ready(response, "database")
            assert seconds < BOUND_SECONDS
        # Requests wait for the connect timeout (DB_CONNECT_TIMEOUT), then answer 503.
        started = time.perf_counter()
        created = requests.post(
            f"{app.base_url}/api/links", json={"url": "https://example.com/"}, timeout=30
        )
        assert created.status_code == 503
        assert created.json()["error"]["type"] == "unavailable"
        assert time.perf_counter() - started < 3 + BOUND_SECONDS
