"""Two instances (separate gunicorn processes) behind one nginx, sharing PostgreSQL and
Redis: the shape of production on Elastic Beanstalk with RDS and ElastiCache.

Links made through one are served by the other, the per-client limits are one budget for
the whole fleet, and restarting the instances one at a time under load fails no request.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sre.load import Load, failed, request
from sre.load import create_link as create_through
from tests.integration.conftest import flask_db_upgrade
from tests.support.databases import TEST_DATABASE_URL, scratch_postgres_database
from tests.support.fleet import AppProcess, instances, nginx_in_front, upstream
from tests.support.require import need
from tests.support.servers import free_port

pytestmark = [pytest.mark.gunicorn, pytest.mark.nginx, pytest.mark.postgres, pytest.mark.slow]

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CREATES, MISSES = 4, 6
WORKERS = 2


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    need(bool(TEST_DATABASE_URL), "TEST_DATABASE_URL is not set (PostgreSQL tests)")
    need(bool(TEST_REDIS_URL), "TEST_REDIS_URL is not set (the limits' shared storage)")
    with scratch_postgres_database() as url:
        flask_db_upgrade(url)
        yield url


def fleet_env(database_url: str, log_dir: Path, nginx_port: int, **extra: str) -> dict:
    """What every instance gets: one database, one Redis, one public origin."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "fleet-secret",
        "BASE_URL": f"http://127.0.0.1:{nginx_port}",
        "PROXY_HOPS": "1",
        "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"fleet-{secrets.token_hex(4)}",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
        "TEST_LOG_DIR": str(log_dir),
        **extra,
    }


@pytest.fixture(scope="module")
def pair(database_url, tmp_path_factory) -> Iterator[list[AppProcess]]:
    """Two instances with small limits, for the tests that read their answers one by one."""
    tmp = tmp_path_factory.mktemp("pair")
    env = fleet_env(
        database_url,
        tmp,
        free_port(),
        RATE_LIMIT_CREATE=f"{CREATES}/minute",
        RATE_LIMIT_NOT_FOUND=f"{MISSES}/minute",
    )
    with instances(env, count=2, workers=WORKERS) as started:
        yield started


def client(address: str) -> dict[str, str]:
    """Requests sent straight to an instance, as its nginx would, on behalf of `address`."""
    return {"X-Forwarded-For": address}


def create(instance: AppProcess, address: str, url: str = "https://example.com/fleet"):
    return requests.post(
        f"{instance.url}/api/links", json={"url": url}, headers=client(address), timeout=10
    )


def follow(instance: AppProcess, code: str, address: str) -> requests.Response:
    return requests.get(
        f"{instance.url}/{code}", headers=client(address), allow_redirects=False, timeout=10
    )


def test_a_link_made_through_one_instance_is_served_by_the_other(pair):
    for maker, other, address in ((pair[0], pair[1], "192.0.2.1"), (pair[1], pair[0], "192.0.2.2")):
        target = f"https://example.com/{secrets.token_hex(4)}"
        made = create(maker, address, target)
        assert made.status_code == 201
        code = made.json()["code"]
        assert made.json()["short_url"] == f"{pair[0].env['BASE_URL']}/{code}"
        redirect = follow(other, code, address)
        assert redirect.status_code == 302
        assert redirect.headers["Location"] == target
        details = requests.get(f"{other.url}/api/links/{code}", headers=client(address))
        assert details.status_code == 200 and details.json()["url"] == target


def test_the_create_limit_is_one_budget_across_instances(pair):
    first, second = pair
    address = "192.0.2.10"
    statuses = [
        create(instance, address).status_code for instance in (first, first, second, second)
    ]
    assert statuses == [201] * CREATES
    assert create(first, address).status_code == 429
    assert create(second, address).status_code == 429
    assert create(second, "192.0.2.11").status_code == 201, "the budget is per client"


def test_a_scan_across_instances_is_refused_and_a_passer_by_is_not(pair):
    code = create(pair[0], "192.0.2.20").json()["code"]
    scanner, passer_by = "192.0.2.66", "192.0.2.77"
    statuses = [follow(pair[i % 2], f"scan{i:03d}", scanner).status_code for i in range(32)]
    assert statuses[:MISSES] == [404] * MISSES
    # The budget is one count for the fleet; each worker of each instance learns of the block
    # at the scanner's first miss there after it is spent (whenever the kernel hands that
    # worker one), so at most one more 404 per other worker, the rest 429.
    assert set(statuses) == {404, 429}
    assert statuses.count(404) <= MISSES + 2 * WORKERS - 1
    for instance in pair:
        assert follow(instance, code, passer_by).status_code == 302
        assert follow(instance, "typo1", passer_by).status_code == 404


def test_restarting_the_instances_one_at_a_time_under_load_fails_no_request(database_url, tmp_path):
    """Each instance leaves nginx's upstream first (as the load balancer deregisters it and
    lets its connections drain), stops with SIGTERM, starts again and rejoins."""
    nginx_port = free_port()
    env = fleet_env(database_url, tmp_path, nginx_port, RATE_LIMIT_CREATE="100000/minute")
    with (
        instances(env, count=2, workers=WORKERS) as fleet,
        nginx_in_front(tmp_path, [i.port for i in fleet], port=nginx_port) as nginx,
    ):
        codes = [create_through(nginx.url)[0] for _ in range(5)]
        load = Load(nginx.url, codes, rate=40.0, create_share=0.25, concurrency=4, duration=90)
        load.start()
        restarts = []
        try:
            time.sleep(1.0)
            for leaving in fleet:
                staying = [i.port for i in fleet if i is not leaving]
                started = time.monotonic()
                nginx.serve(upstream(staying))
                leaving.stop()
                assert request(nginx.url, "GET", "/healthz")[0] == 200
                leaving.start()
                nginx.serve(upstream([i.port for i in fleet]))
                restarts.append(time.monotonic() - started)
            time.sleep(1.0)
        finally:
            load.stop()
        records = load.join()

        bad = failed(records)
        assert records and not bad, f"{len(bad)} of {len(records)} failed, e.g. {bad[:3]}"
        made = [r for r in records if r.kind == "create"]
        assert made
        for record in made:
            status, headers, _ = request(nginx.url, "GET", f"/{record.code}")
            assert status == 302 and headers["Location"] == record.target
        for instance in fleet:  # both serve again after their restart
            log = instance.log_path().read_text()
            assert '"event":"request"' in log
        print(
            f"{len(records)} requests ({len(made)} creates) over {records[-1].at:.1f}s,"
            f" 0 failed; restarts took {', '.join(f'{s:.1f}s' for s in restarts)}"
        )
