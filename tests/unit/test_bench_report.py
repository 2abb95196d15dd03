"""Reading wrk's report and judging a benchmark run against the issue's targets."""

import importlib.util
import shutil

import pytest

from shortener import create_app
from sre import bench
from sre.bench_servers import STACK_APP
from sre.bench_wrk import WrkError, WrkResult, parse_report
from tests.conftest import app_config

REPORT = """\
Running 10s test @ http://127.0.0.1:41000
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.49ms    5.10ms  90.01ms   80.00%
    Req/Sec     1.55k   200.00     2.00k    70.00%
  Latency Distribution
     50%    9.80ms
     75%   12.00ms
     90%   15.00ms
     99%  850.00us
  30912 requests in 10.01s, 9.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   3088.20
Transfer/sec:      0.90MB
"""


def test_parse_report_reads_rate_latencies_and_errors():
    assert parse_report(REPORT) == WrkResult(
        rps=3088.2, p50_ms=9.8, p99_ms=0.85, errors=7, requests=30912
    )


def test_parse_report_refuses_what_it_cannot_read():
    with pytest.raises(WrkError, match="unreadable"):
        parse_report("wrk: connection refused")


def figures(rps, p99=10.0, errors=0, rss=50.0):
    return {"rps": rps, "p50_ms": 5.0, "p99_ms": p99, "errors": errors, "rss_mb_per_worker": rss}


def test_ratios_and_checks():
    targets = {
        "nginx_302": figures(70000, rss=5.0),
        "flask_floor": figures(3000),
        "app_1k_sqlite": figures(3100),
        "app_1m_sqlite": figures(2900, p99=12.0),
        "app_1k_postgres": figures(3000),
        "app_1m_postgres": figures(2400),
        "create_sqlite": figures(500),
        "create_postgres": figures(290, errors=1, rss=61.0),
    }
    ratios = bench.ratios(targets)
    assert ratios["app_to_floor"] == pytest.approx(2900 / 3000, abs=0.001)
    assert ratios["size_1m_to_1k"] == pytest.approx(0.8)
    assert ratios["p99_to_floor"] == pytest.approx(1.2)
    verdicts = dict(bench.checks(targets, ratios))
    assert verdicts["app_to_floor ≥ 0.9"]
    assert verdicts["1M ≥ 0.9 × 1k on SQLite"]
    assert not verdicts["1M ≥ 0.9 × 1k on PostgreSQL"]
    assert not verdicts["0 errors"]
    assert not verdicts["≤ 60 MB per worker"]
    assert not verdicts["creation ≥ 300/s on both databases"]


def test_aggregate_reports_pss_next_to_rss_and_judges_rss():
    runs = [WrkResult(rps=100.0, p50_ms=1.0, p99_ms=2.0, errors=0, requests=800)]
    figures = bench.aggregate(runs, rss=[61.0, 62.5], cpu_us=[400.0], pss=[40.0, 41.2])
    assert figures["rss_mb_per_worker"] == 62.5
    assert figures["pss_mb_per_worker"] == 41.2


def test_aggregate_takes_medians_so_a_slow_round_does_not_move_the_figure():
    rates = [4000.0, 4100.0, 2300.0, 3900.0, 4200.0]  # the third round hit by the machine
    runs = [WrkResult(rps=r, p50_ms=r / 1000, p99_ms=r / 100, errors=0, requests=1) for r in rates]
    figures = bench.aggregate(runs, rss=[60.0], cpu_us=[300.0])
    assert figures["rps"] == 4000.0
    assert figures["rps_mean"] == 3700.0
    assert figures["p50_ms"] == 4.0
    assert figures["p99_ms"] == 40.0
    assert figures["runs"] == rates


def test_reference_table_shows_what_our_code_adds_to_the_libraries():
    targets = {
        "app_1k_sqlite": figures(1, rss=59.0),
        "app_1m_sqlite": figures(1, rss=65.2),
        "create_sqlite": figures(1, rss=58.9),
        "app_1m_postgres": figures(1, rss=74.8),
    }
    reference = {
        "stack_floor_sqlite": {"rps": 1.0, "errors": 0, "rss_mb_per_worker": 53.5},
        "stack_floor_postgres": {"rps": 1.0, "errors": 0, "rss_mb_per_worker": 64.1},
    }
    text = bench.reference_table(targets, reference)
    assert "sqlite    libraries alone  53.5 MB RSS, our app  65.2 MB: +11.7 MB of ours" in text
    assert "postgres  libraries alone  64.1 MB RSS, our app  74.8 MB: +10.7 MB of ours" in text


def test_stack_floor_app_redirects_from_our_schema(sqlite_template, tmp_path, monkeypatch):
    """The memory reference serves our own tables, so its load is the same as the app's."""
    path = tmp_path / "bench.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    ours = create_app(app_config(url)).test_client()
    made = ours.post("/api/links", json={"url": "https://example.com/a?b=1"}).get_json()

    module_file = tmp_path / "stackapp.py"
    module_file.write_text(STACK_APP)
    monkeypatch.setenv("DATABASE_URL", url)
    spec = importlib.util.spec_from_file_location("stackapp_under_test", module_file)
    stack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stack)
    client = stack.app.test_client()

    answer = client.get(f"/{made['code']}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://example.com/a?b=1"
    assert client.get("/nOsUcH1").status_code == 404
    with stack.app.app_context():
        stack.db.engine.dispose()
