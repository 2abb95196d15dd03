"""PROXY_HOPS over real HTTP: with as many trusted hops as there are proxies in front, a
client that writes its own X-Forwarded-For cannot dodge the per-client limits.

0 hops: gunicorn alone (make run). 1 hop: one nginx (the local environment). 2 hops: two
nginx in a row, standing for EB's load balancer and the instance's nginx (both append the
address they saw to X-Forwarded-For, as the ALB does). And the misconfiguration the setting
guards against: 2 hops trusted behind one proxy lets every forged address count anew.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import flask_db_upgrade
from tests.support.fleet import AppProcess, nginx_in_front
from tests.support.require import need

pytestmark = [pytest.mark.gunicorn, pytest.mark.nginx]

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CREATES, MISSES = 3, 4


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('hops') / 'hops.db'}"
    flask_db_upgrade(url)
    return url


def serve(stack: ExitStack, tmp: Path, database_url: str, hops: int, proxies: int) -> str:
    """The app trusting `hops`, behind `proxies` nginx in a row; return the outermost URL."""
    need(bool(TEST_REDIS_URL), "TEST_REDIS_URL is not set (the limits' shared storage)")
    app = AppProcess(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "hops-secret",
            "PROXY_HOPS": str(hops),
            "RATE_LIMIT_CREATE": f"{CREATES}/minute",
            "RATE_LIMIT_NOT_FOUND": f"{MISSES}/minute",
            "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
            "RATELIMIT_KEY_PREFIX": f"hops-{secrets.token_hex(4)}",
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "TEST_LOG_DIR": str(tmp),
        }
    ).start()
    stack.callback(app.stop)
    url = app.url
    for _ in range(proxies):
        url = stack.enter_context(nginx_in_front(tmp, [int(url.rsplit(":", 1)[1])])).url
    return url


def forged() -> dict[str, str]:
    """A header as a client would forge it: a fresh address (or two) every time."""
    fake = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    return {"X-Forwarded-For": f"{fake}, 192.0.2.{secrets.randbelow(256)}"}


def creates(url: str, n: int) -> list[int]:
    return [
        requests.post(
            f"{url}/api/links", json={"url": "https://example.com/hops"}, headers=forged()
        ).status_code
        for _ in range(n)
    ]


def misses(url: str, n: int) -> list[int]:
    return [
        requests.get(f"{url}/nope{i}", headers=forged(), allow_redirects=False).status_code
        for i in range(n)
    ]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.mark.parametrize(
    ("hops", "proxies"), [(0, 0), (1, 1), (2, 2)], ids=["make-run", "nginx", "eb"]
)
def test_a_forged_x_forwarded_for_does_not_dodge_the_limits(
    stack, tmp_path, database_url, hops, proxies
):
    url = serve(stack, tmp_path, database_url, hops, proxies)

    assert creates(url, CREATES + 2) == [201] * CREATES + [429] * 2
    # Two workers each learn of the block at the scanner's first miss there after the budget
    # is spent, whenever the kernel hands that worker one: at most one extra 404, the rest
    # 429, in any order.
    statuses = misses(url, MISSES + 6)
    assert statuses[:MISSES] == [404] * MISSES
    assert set(statuses[MISSES:]) <= {404, 429}
    assert statuses.count(404) <= MISSES + 1
    assert statuses.count(429) >= 5


def test_trusting_more_hops_than_there_are_proxies_lets_a_forged_header_through(
    stack, tmp_path, database_url
):
    """Why the number must match: here every forged address gets a budget of its own."""
    url = serve(stack, tmp_path, database_url, hops=2, proxies=1)

    assert creates(url, CREATES + 2) == [201] * (CREATES + 2)
