"""The error budget from made-up ledgers: year boundaries, gaps, overlaps, flapping."""

import json

import pytest

from sre.budget import budget_report, burn_rate, customer_budget_minutes
from sre.cli import main
from sre.timeline import Totals
from tests.sre.ledgers import at, ledger_with, steady

BUDGET = 20 * 60.0


def test_downtime_across_new_year_is_split_between_the_years(tmp_path):
    # Down from 23:55 on 31 December to 00:05 on 1 January.
    start = at("2026-12-31T23:50:00")
    rounds = steady(start, 30) + steady(at("2026-12-31T23:55:00"), 60, ok=False)
    rounds = sorted(dict(rounds).items())  # later entries for the same start win: down
    rounds += steady(at("2027-01-01T00:05:00"), 30)
    ledger = ledger_with(tmp_path / "l.sqlite3", rounds)
    end = at("2027-01-01T00:10:00")
    old = budget_report(ledger, BUDGET, now=end, year=2026)
    new = budget_report(ledger, BUDGET, now=end, year=2027)
    assert old.downtime_seconds == pytest.approx(300)
    assert new.downtime_seconds == pytest.approx(300)
    assert new.window_start == at("2027-01-01T00:00:00")
    assert old.window_end == at("2027-01-01T00:00:00")
    assert new.budget_left_seconds == pytest.approx(BUDGET - 300)


def test_a_gap_is_unknown_and_lowers_availability(tmp_path):
    start = at("2026-06-01T00:00:00")
    rounds = steady(start, 6) + steady(start + 3600, 6)  # the monitor was away ~an hour
    ledger = ledger_with(tmp_path / "l.sqlite3", rounds)
    report = budget_report(ledger, BUDGET, now=start + 3660)
    assert report.downtime_seconds == 0
    # The round before the gap vouches for 1.5 intervals: 65 s up, then unknown until 3600.
    assert report.unknown_seconds == pytest.approx(3600 - 65)
    assert report.availability == pytest.approx(125 / 3660)
    assert report.as_json()["budget_left_if_unknown_was_down_seconds"] == pytest.approx(
        BUDGET - report.unknown_seconds
    )


def test_both_checks_failing_in_one_round_count_once(tmp_path):
    start = at("2026-03-01T12:00:00")
    ledger = ledger_with(tmp_path / "l.sqlite3", steady(start, 3, ok=False) + steady(start + 30, 3))
    report = budget_report(ledger, BUDGET, now=start + 60)
    assert report.downtime_seconds == pytest.approx(30)
    assert report.up_seconds == pytest.approx(30)


def test_a_flapping_service_counts_every_failed_round(tmp_path):
    start = at("2026-05-05T05:00:00")
    rounds = [(start + i * 10, i % 2 == 0) for i in range(60)]
    ledger = ledger_with(tmp_path / "l.sqlite3", rounds)
    report = budget_report(ledger, BUDGET, now=start + 600)
    assert report.downtime_seconds == pytest.approx(300)
    assert report.availability == pytest.approx(0.5)


def test_burn_rates_cover_the_recent_windows(tmp_path):
    now = at("2026-08-01T12:00:00")
    # Three days of good rounds every minute, with 60 s down in the last hour.
    rounds = steady(now - 3 * 86400, 3 * 1440, interval=60)
    rounds = [(t, not (now - 600 <= t < now - 540)) for t, _ in rounds]
    ledger = ledger_with(tmp_path / "l.sqlite3", rounds, interval=60)
    report = budget_report(ledger, BUDGET, now=now)
    allowed = BUDGET / (365 * 86400)
    assert report.burn_rates["1h"] == pytest.approx((60 / 3600) / allowed)
    assert report.burn_rates["6h"] == pytest.approx((60 / 21600) / allowed)
    assert report.burn_rates["3d"] == pytest.approx((60 / 259200) / allowed, rel=1e-3)


def test_an_empty_ledger_has_no_availability_and_no_burn_rates(tmp_path):
    ledger = ledger_with(tmp_path / "l.sqlite3", [])
    report = budget_report(ledger, BUDGET, now=at("2026-02-02T00:00:00"))
    assert report.availability is None
    assert report.burn_rates == {"1h": None, "6h": None, "3d": None}
    assert burn_rate(Totals(), 0.1) is None


def test_a_spent_budget_goes_negative(tmp_path, capsys):
    start = at("2026-04-01T00:00:00")
    ledger = ledger_with(tmp_path / "l.sqlite3", steady(start, 200, ok=False))
    ledger.close()
    assert (
        main(
            [
                "sla",
                "--ledger",
                str(tmp_path / "l.sqlite3"),
                "--year",
                "2026",
                "--budget-minutes",
                "10",
            ]
        )
        == 0
    )
    assert "THE BUDGET IS SPENT" in capsys.readouterr().out


def test_sla_json_has_the_documented_keys(tmp_path, capsys):
    ledger = ledger_with(tmp_path / "l.sqlite3", steady(at("2026-01-10T00:00:00"), 5))
    ledger.close()
    assert main(["sla", "--ledger", str(tmp_path / "l.sqlite3"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("downtime_seconds", "budget_seconds", "budget_left_seconds", "availability"):
        assert key in data
    assert set(data["burn_rates"]) == {"1h", "6h", "3d"}
    assert data["budget_seconds"] == BUDGET


def test_budget_per_customer(tmp_path, capsys):
    customers = tmp_path / "customers.json"
    customers.write_text(json.dumps({"acme": {"budget_minutes_per_year": 60}}))
    assert customer_budget_minutes("acme", customers) == 60
    ledger_with(tmp_path / "l.sqlite3", []).close()
    args = ["sla", "--ledger", str(tmp_path / "l.sqlite3"), "--json", "--customers", str(customers)]
    assert main([*args, "--customer", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["budget_seconds"] == 3600
    assert main([*args, "--customer", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err


def test_budget_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLA_BUDGET_MINUTES", "5")
    ledger_with(tmp_path / "l.sqlite3", []).close()
    assert main(["sla", "--ledger", str(tmp_path / "l.sqlite3"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["budget_seconds"] == 300


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--budget-minutes", "0"], "positive"), ([], "no ledger")],
)
def test_sla_errors(tmp_path, capsys, extra, message):
    ledger = tmp_path / ("l.sqlite3" if extra else "missing.sqlite3")
    if extra:
        ledger_with(ledger, []).close()
    assert main(["sla", "--ledger", str(ledger), *extra]) == 2
    assert message in capsys.readouterr().err
    assert extra or not ledger.exists()
