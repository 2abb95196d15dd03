"""With RATELIMIT_STORAGE_URI=redis://…, instances share one budget per client."""

import os
import secrets

import pytest

from shortener import create_app
from shortener.config import storage_options
from shortener.extensions import limiter
from tests.conftest import app_config
from tests.support.require import need
from tests.support.servers import free_port

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_instances_share_the_limit_through_redis(database_url):
    need(bool(TEST_REDIS_URL), "TEST_REDIS_URL is not set (Redis rate-limit storage)")
    config = app_config(
        database_url,
        RATE_LIMIT_CREATE="3/minute",
        RATELIMIT_STORAGE_URI=TEST_REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"test-{secrets.token_hex(4)}",
    )
    first = create_app(config)
    first_client = first.test_client()
    statuses = [
        first_client.post("/api/links", json={"url": f"https://example.com/{i}"}).status_code
        for i in range(2)
    ]
    # A second instance (another EB instance, say) sees the same counters.
    second = create_app(config)
    second_client = second.test_client()
    statuses.append(
        second_client.post("/api/links", json={"url": "https://example.com/3"}).status_code
    )
    statuses.append(
        second_client.post("/api/links", json={"url": "https://example.com/4"}).status_code
    )
    assert statuses == [201, 201, 201, 429]
    with second.app_context():
        limiter.reset()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_with_redis_away_creates_succeed_and_each_process_limits_on_its_own(database_url):
    """No request fails because the limit's storage does: Flask-Limiter falls back to memory."""
    config = app_config(
        database_url,
        RATE_LIMIT_CREATE="2/minute",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
        RATELIMIT_STORAGE_OPTIONS=storage_options("redis://"),
    )
    client = create_app(config).test_client()
    statuses = [
        client.post("/api/links", json={"url": f"https://example.com/{i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [201, 201, 429]


def test_redis_storage_gets_bounded_waits():
    assert storage_options("redis://cache:6379/0") == {
        "socket_connect_timeout": 1,
        "socket_timeout": 1,
    }
    assert storage_options("memory://") == {}
