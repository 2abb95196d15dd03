"""Each operations endpoint over HTTP, against gunicorn with 2 workers, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from shortener.readiness import schema_head
from tests.ops.conftest import WORKERS, Served
from tests.support.require import need
from tests.support.servers import ROOT

pytestmark = [pytest.mark.gunicorn]

LOG_FIELDS = {"time", "level", "request_id", "method", "path", "status", "duration_ms", "version"}


def sample(metrics_text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition, 0 when absent."""
    for family in text_string_to_metric_families(metrics_text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


def test_healthz_answers_without_the_database(served: Served, http: requests.Session):
    response = http.get(served.url("/healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database_and_quick(served: Served, http: requests.Session):
    durations = []
    for _ in range(20):
        started = time.perf_counter()
        response = http.get(served.url("/readyz"))
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ok"
        assert body["schema"] == schema_head()
    # The real figure is reported in docs/operations.md; this only catches a hang.
    assert statistics.median(durations) < 1.0


def test_version_comes_from_git_without_build_info(served: Served, http: requests.Session):
    response = http.get(served.url("/version"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"version", "commit", "built_at"}
    assert response.headers["X-App-Version"] == body["version"]
    if (ROOT / "build-info.json").exists() or shutil.which("git") is None:
        return  # a bundle: build-info.json is covered by the unit tests
    need((ROOT / ".git").exists(), "the app does not run from a git checkout")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert body == {"version": f"dev-{head[:7]}", "commit": head, "built_at": "unknown"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/version", "/metrics", "/no-such", "/"])
def test_every_response_carries_the_version_and_a_request_id(
    served: Served, http: requests.Session, path: str
):
    version = http.get(served.url("/version")).json()["version"]
    response = http.get(served.url(path), allow_redirects=False)
    assert response.headers["X-App-Version"] == version
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32
    int(generated, 16)


def test_the_proxys_request_id_is_echoed_and_logged(served: Served, http: requests.Session):
    request_id = f"proxy-{uuid.uuid4()}"
    response = http.get(served.url("/healthz"), headers={"X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id
    logged = [line for line in served.requests_logged() if line["request_id"] == request_id]
    assert len(logged) == 1
    assert logged[0]["path"] == "/healthz"
    assert logged[0]["status"] == 200


def test_logs_are_json_lines_with_the_request_fields_and_no_query_string(
    served: Served, http: requests.Session
):
    marker = uuid.uuid4().hex
    http.get(served.url(f"/healthz?token=secret-{marker}"), headers={"X-Request-ID": marker})
    http.post(served.url("/api/links"), json={"url": f"https://example.com/{marker}-body"})
    lines = served.log_lines()  # every line parses as JSON, gunicorn's own included
    assert any(line.get("logger") == "gunicorn.error" for line in lines)
    requests_logged = [line for line in lines if line.get("event") == "request"]
    assert requests_logged
    for line in requests_logged:
        assert set(line) >= LOG_FIELDS
    mine = next(line for line in requests_logged if line["request_id"] == marker)
    assert mine["method"] == "GET"
    assert mine["path"] == "/healthz"
    assert mine["level"] == "info"
    assert isinstance(mine["duration_ms"], float)
    text = served.log_path.read_text()
    assert f"secret-{marker}" not in text
    assert f"{marker}-body" not in text


def test_metrics_add_up_over_both_workers(served: Served, http: requests.Session):
    before = http.get(served.url("/metrics"))
    assert before.status_code == 200
    assert before.headers["Content-Type"].startswith("text/plain")
    labels = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}
    start = sample(before.text, "shortener_http_requests_total", **labels)

    def hit(request_id: str) -> int:
        # A new connection each time, several at once, so both workers take some.
        headers = {"X-Request-ID": request_id}
        return requests.get(served.url("/healthz"), headers=headers, timeout=10).status_code

    sent: set[str] = set()
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    # On a busy machine one worker may take a whole batch: send batches until both answered.
    while len(pids) < WORKERS and time.monotonic() < deadline:
        batch = [f"metrics-{uuid.uuid4().hex}" for _ in range(60)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(hit, batch)) == {200}
        sent.update(batch)
        pids = {line["pid"] for line in served.requests_logged() if line["request_id"] in sent}
    assert len(pids) == WORKERS, "both workers should have answered some of the requests"
    after = http.get(served.url("/metrics")).text
    assert sample(after, "shortener_http_requests_total", **labels) - start == len(sent)
    assert sample(after, "shortener_http_request_duration_seconds_count", endpoint="ops.healthz")
    assert sample(
        after, "shortener_http_request_duration_seconds_bucket", endpoint="ops.healthz", le="2.5"
    )


def test_metrics_count_links_redirects_and_not_found(served: Served, http: requests.Session):
    metrics = served.url("/metrics")
    before = http.get(metrics).text
    created = http.post(served.url("/api/links"), json={"url": "https://example.com/metrics"})
    assert created.status_code == 201
    code = created.json()["code"]
    assert http.get(served.url(f"/{code}"), allow_redirects=False).status_code == 302
    assert http.get(served.url("/nothing-here"), allow_redirects=False).status_code == 404
    after = http.get(metrics).text
    for name in ("shortener_links_created_total", "shortener_redirects_total"):
        # Each worker keeps its own count; the sum over both moved by exactly one.
        assert sample(after, name) - sample(before, name) == 1
    not_found = {"endpoint": "redirects.follow", "method": "GET", "status": "404"}
    assert (
        sample(after, "shortener_http_requests_total", **not_found)
        - sample(before, "shortener_http_requests_total", **not_found)
        == 1
    )
    assert "shortener_db_errors_total" in after


def test_metrics_need_no_csrf_token_and_are_not_rate_limited(
    served: Served, http: requests.Session
):
    statuses = {http.get(served.url("/metrics")).status_code for _ in range(40)}
    assert statuses == {200}
