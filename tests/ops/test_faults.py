"""Faults with real processes on loopback, on SQLite and on PostgreSQL: gunicorn with 4
workers, clients over HTTP.

- Two clients race for one custom name, 50 times: one 201 each race, the rest 409.
- Many clients create at once on SQLite: "database is locked" never reaches anyone.
- A worker is killed with SIGKILL in the middle of a stream of creates: every link whose
  creation was answered 201 is in the database afterwards.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from sre.localenv.processes import children_of
from tests.ops.conftest import Served, database_of_kind, serve
from tests.support.databases import sqlalchemy_url

pytestmark = [pytest.mark.gunicorn, pytest.mark.slow]

WORKERS = 4
RACES, RACERS = 50, 2


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app4(request, tmp_path_factory) -> Iterator[Served]:
    """The app under gunicorn with 4 workers (2 threads each), one per database kind."""
    tmp = tmp_path_factory.mktemp(f"faults-{request.param}")
    with (
        database_of_kind(request.param, tmp) as url,
        serve(url, tmp, workers=WORKERS, RATE_LIMIT_CREATE="100000/minute") as app,
    ):
        yield app


def stored_codes(database_url: str) -> set[str]:
    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT code FROM links")).scalars())
    finally:
        engine.dispose()


def create(base_url: str, session: requests.Session, **body) -> requests.Response:
    return session.post(
        f"{base_url}/api/links", json={"url": "https://example.com/f", **body}, timeout=30
    )


def test_racing_for_one_custom_name_50_times_gives_one_201_per_race(app4: Served):
    sessions = [requests.Session() for _ in range(RACERS)]
    outcomes: list[list[int]] = []
    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        for race in range(RACES):
            barrier = threading.Barrier(RACERS)
            name = f"race-{race:02d}-{os.getpid()}"

            def run(session: requests.Session, name=name, barrier=barrier) -> int:
                barrier.wait()
                return create(app4.base_url, session, code=name).status_code

            outcomes.append(sorted(pool.map(run, sessions)))
    assert outcomes == [[201] + [409] * (RACERS - 1)] * RACES
    created = [line for line in app4.requests_logged() if line["path"] == "/api/links"]
    assert {line["status"] for line in created} == {201, 409}


def test_concurrent_writers_never_see_database_is_locked(app4: Served):
    """Eight creates at a time (4 workers × 2 threads all writing), with visit flushes."""
    clients, each = 16, 15

    def writer(_: int) -> list[tuple[int, str]]:
        answers = []
        with requests.Session() as session:
            for _ in range(each):
                response = create(app4.base_url, session)
                answers.append((response.status_code, response.text))
                if response.status_code == 201:  # a visit to flush, too
                    session.get(f"{app4.base_url}/{response.json()['code']}", allow_redirects=False)
        return answers

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = [answer for batch in pool.map(writer, range(clients)) for answer in batch]
    seconds = time.perf_counter() - started
    assert len(answers) == clients * each
    assert not [text for _, text in answers if "locked" in text.lower()]
    assert {status for status, _ in answers} == {201}
    print(f"{len(answers)} creates from {clients} clients in {seconds:.1f}s, all 201")


def test_a_worker_killed_during_creates_loses_no_acknowledged_link(app4: Served):
    master = app4.master_pid()
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def stream() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = create(app4.base_url, session)
                except requests.RequestException as exc:  # the killed worker's connection
                    with lock:
                        refused.append(type(exc).__name__)
                    session.close()
                    continue
                with lock:
                    if response.status_code == 201:
                        acknowledged.append(response.json()["code"])
                    else:
                        refused.append(str(response.status_code))

    threads = [threading.Thread(target=stream) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        victim = children_of(master)[0]
        before = len(acknowledged)
        os.kill(victim, signal.SIGKILL)
        time.sleep(2.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert before > 0 and len(acknowledged) > before, "creates went on after the kill"
    assert victim not in children_of(master) and len(children_of(master)) == WORKERS
    missing = set(acknowledged) - stored_codes(app4.database_url)
    assert not missing, f"{len(missing)} acknowledged links are not stored"
    # Only the requests the killed worker held may have failed, and never with a 5xx.
    assert not [r for r in refused if r.startswith("5")], refused
    print(f"{len(acknowledged)} acknowledged, all stored; {len(refused)} cut off by the kill")
