"""A real database outage: a private PostgreSQL server is stopped, frozen and started again
under a running gunicorn, request by request and under a steady load. During it the app
answers 503 with Retry-After (never a 500); after it, the same workers serve again on their
own."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sre.load import Load, create_link, failed
from tests.ops.conftest import PrivatePostgres, Served, flask_db_upgrade, serve

pytestmark = [pytest.mark.gunicorn, pytest.mark.postgres, pytest.mark.slow]

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
RECOVERY_SECONDS = 15.0
ATTEMPTS = 6  # several requests of each kind, so both workers meet the outage


def csrf_token(browser: requests.Session, base_url: str) -> str:
    html = browser.get(f"{base_url}/", headers=HTML, timeout=10).text
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def create_by_api(base_url: str, url: str) -> requests.Response:
    return requests.post(f"{base_url}/api/links", json={"url": url}, timeout=10)


def follow(base_url: str, code: str) -> requests.Response:
    return requests.get(f"{base_url}/{code}", headers=HTML, allow_redirects=False, timeout=10)


def assert_unavailable_page(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "right back" in response.text
    assert "Traceback" not in response.text


def assert_unavailable_json(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["type"] == "unavailable"


def wait_until(check: Callable[[], bool], seconds: float) -> float:
    """Poll `check` until it holds; return how long that took, fail after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not recovered within {seconds}s")


def test_outage_answers_503_and_the_same_workers_recover(
    private_postgres: PrivatePostgres, tmp_path
):
    flask_db_upgrade(private_postgres.url)
    with serve(private_postgres.url, tmp_path) as app:
        base = app.base_url
        master, workers = app.master_pid(), app.booted_workers()
        assert len(workers) == 2
        browser = requests.Session()
        token = csrf_token(browser, base)
        made = create_by_api(base, "https://example.com/before-the-outage")
        assert made.status_code == 201
        # Never followed yet, so no worker has it cached: following it needs the database.
        code = made.json()["code"]
        # This one both workers have just resolved: their caches keep it redirecting a while.
        cached = create_by_api(base, "https://example.com/cached").json()["code"]
        wait_until(lambda: followed_by(app, base, cached) == workers, RECOVERY_SECONDS)

        private_postgres.stop("fast")
        for _ in range(ATTEMPTS):
            assert follow(base, cached).status_code == 302
        for _ in range(ATTEMPTS):
            assert_unavailable_page(follow(base, code))
            assert_unavailable_json(create_by_api(base, "https://example.com/during"))
            form = browser.post(
                f"{base}/shorten",
                data={"url": "https://example.com/form-during", "csrf_token": token},
                headers=HTML,
                allow_redirects=False,
                timeout=10,
            )
            assert_unavailable_page(form)
            api_follow = requests.get(
                f"{base}/{code}",
                headers={"Accept": "application/json"},
                allow_redirects=False,
                timeout=10,
            )
            assert_unavailable_json(api_follow)
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
            ready = requests.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 503
            assert any("database unavailable" in r for r in ready.json()["reasons"])

        private_postgres.start()
        took = wait_until(lambda: follow(base, code).status_code == 302, RECOVERY_SECONDS)
        for _ in range(ATTEMPTS):
            response = follow(base, code)
            assert response.status_code == 302
            assert response.headers["Location"] == "https://example.com/before-the-outage"
            assert create_by_api(base, "https://example.com/after").status_code == 201
            assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        print(f"recovered {took:.2f}s after the database came back")

        assert_same_processes(app, master, workers)
        statuses = {line["status"] for line in app.requests_logged()}
        assert 500 not in statuses
        metrics = requests.get(f"{base}/metrics", timeout=10).text
        assert "shortener_db_errors_total 0.0" not in metrics


def test_under_load_an_outage_is_503s_then_full_recovery_without_a_restart(
    private_postgres: PrivatePostgres, tmp_path
):
    """A steady load (creates and redirects, 4 clients) through a 3 s database outage."""
    flask_db_upgrade(private_postgres.url)
    with serve(private_postgres.url, tmp_path, RATE_LIMIT_CREATE="100000/minute") as app:
        master, workers = app.master_pid(), app.booted_workers()
        codes = [create_link(app.base_url)[0] for _ in range(5)]
        load = Load(app.base_url, codes, rate=30.0, create_share=0.5, concurrency=4, duration=60)
        load.start()
        try:
            time.sleep(1.5)
            down_at = load.elapsed()
            private_postgres.stop("fast")
            stopped_at = load.elapsed()
            time.sleep(3.0)
            restart_at = load.elapsed()
            private_postgres.start()
            up_at = load.elapsed()
            time.sleep(3.0)
        finally:
            load.stop()
        records = load.join()

        # Never a 500 nor a dropped connection: during the outage, 503 (or a cached redirect).
        assert {r.status for r in records} <= {201, 302, 503}, failed(records)[:3]
        assert not [r for r in records if r.error]
        assert all(r.ok for r in records if r.at < down_at)
        during = [r for r in records if stopped_at + 0.2 < r.at and r.at + r.latency < restart_at]
        assert during and all(r.status == 503 for r in during if r.kind == "create")
        recovered_at = min(
            r.at for r in records if r.at > restart_at and r.kind == "create" and r.ok
        )
        after = [r for r in records if r.at >= recovered_at]
        assert len(after) > 20 and all(r.ok for r in after), failed(after)[:3]
        assert recovered_at - restart_at < RECOVERY_SECONDS
        assert_same_processes(app, master, workers)
        print(
            f"{len(records)} requests; {sum(r.status == 503 for r in records)} answered 503 in"
            f" the {up_at - down_at:.1f}s outage; every request ok"
            f" {recovered_at - restart_at:.2f}s after the database was started again"
            f" (pg_ctl start -w took {up_at - restart_at:.1f}s); ran {load.elapsed():.1f}s"
        )


def test_readyz_is_bounded_while_the_database_is_frozen(
    private_postgres: PrivatePostgres, tmp_path
):
    """SIGSTOP: connections stay open but nothing answers, so only a client-side bound helps."""
    flask_db_upgrade(private_postgres.url)
    with serve(private_postgres.url, tmp_path) as app:
        base = app.base_url
        # Until both workers have answered /readyz, so both hold an open probe connection.
        wait_until(lambda: readyz_pids(app, base) == app.booted_workers(), RECOVERY_SECONDS)
        frozen = private_postgres.pids()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            for attempt in range(3):
                started = time.perf_counter()
                ready = requests.get(f"{base}/readyz", timeout=30)
                seconds = time.perf_counter() - started
                assert ready.status_code == 503
                assert seconds < 4.0
                reasons = " ".join(ready.json()["reasons"])
                if attempt == 0:  # on an open connection: the watchdog cut it short
                    assert "did not answer within 2 s" in reasons
                else:  # or a new connection, which the connect timeout bounds
                    assert "did not answer within 2 s" in reasons or "unavailable" in reasons
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        wait_until(
            lambda: requests.get(f"{base}/readyz", timeout=10).status_code == 200,
            RECOVERY_SECONDS,
        )


def followed_by(app: Served, base: str, code: str) -> set[int]:
    """Follow `code` a few times at once; return the pids of the workers that redirected it."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(lambda _: follow(base, code).status_code, range(4))) == {302}
    return {
        line["pid"]
        for line in app.requests_logged()
        if line["path"] == f"/{code}" and line["status"] == 302
    }


def readyz_pids(app: Served, base: str) -> set[int]:
    """Ask /readyz a few times at once; return the pids of the workers that answered 200."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = pool.map(
            lambda _: requests.get(f"{base}/readyz", timeout=10).status_code, range(4)
        )
        assert set(statuses) == {200}
    return {
        line["pid"]
        for line in app.requests_logged()
        if line["path"] == "/readyz" and line["status"] == 200
    }


def assert_same_processes(app: Served, master: int, workers: set[int]) -> None:
    """No restart: the same master runs, and it booted no worker beyond the first two."""
    os.kill(master, 0)
    assert app.master_pid() == master
    assert app.booted_workers() == workers
    recent = {line["pid"] for line in app.requests_logged()[-10:]}
    assert recent <= workers
