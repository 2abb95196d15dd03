"""The Prometheus alert rules are valid and behave as their unit tests say (promtool)."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.require import need_program

ALERTS = Path(__file__).resolve().parents[2] / "sre" / "alerts"
METRICS = (
    "shortener_http_requests_total",
    "shortener_http_request_duration_seconds_bucket",
    "shortener_db_errors_total",
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [need_program("promtool"), *args], cwd=ALERTS, capture_output=True, text=True, timeout=120
    )


def test_promtool_checks_the_rules():
    result = promtool("check", "rules", "slo-rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("tests", sorted(p.name for p in ALERTS.glob("*.test.yml")))
def test_promtool_runs_the_rule_tests(tests):
    result = promtool("test", "rules", tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_use_the_metrics_the_app_exposes_and_the_slo_budget():
    text = (ALERTS / "slo-rules.yml").read_text()
    rules = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    used = " ".join(r["expr"] for r in rules)
    assert all(metric in used for metric in METRICS)
    # 20 minutes a year as a share of the year.
    assert "0.000038" in used and round(20 / (365 * 24 * 60), 6) == 0.000038
    burn = [r for r in rules if r.get("alert") == "ShortenerErrorBudgetBurn"]
    assert {r["labels"]["long_window"] for r in burn} == {"1h", "6h", "3d"}
