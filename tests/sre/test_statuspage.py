"""The status page: self-contained HTML and JSON from the ledger, as a browser shows it."""

import json
import re
import subprocess

import pytest

from sre.cli import main
from sre.incidents import IncidentTracker
from sre.statuspage import (
    DEGRADED,
    OPERATIONAL,
    OUTAGE,
    UNKNOWN_STATE,
    StatusPageKeeper,
    status_data,
)
from tests.sre.ledgers import at, ledger_with, steady
from tests.support.require import need_program

NOW = at("2026-11-20T12:00:00")
BUDGET = 1200.0


@pytest.fixture
def ledger(tmp_path):
    """Two days of rounds every minute, with a 5-minute outage yesterday (an incident)."""
    start = NOW - 2 * 86400
    rounds = [
        (t, not (NOW - 86400 <= t < NOW - 86400 + 300))
        for t, _ in steady(start, 2 * 1440, interval=60)
    ]
    book = ledger_with(tmp_path / "l.sqlite3", rounds, interval=60)
    tracker = IncidentTracker(book, open_after=2, close_after=2)
    for t, ok in rounds:
        tracker.observe(t, t + 0.5, ok, "journey: POST /api/links answered 500")
    yield book
    book.close()


def test_the_data_has_state_bars_incidents_and_budget(ledger):
    data = status_data(ledger, "Shortener", BUDGET, now=NOW)
    assert data["state"] == OPERATIONAL
    assert data["version"] == "v1"
    assert len(data["days"]) == 90
    assert data["days"][-1]["date"] == "2026-11-20"
    assert data["days"][0]["uptime"] is None  # before the monitor existed: no data, not up
    yesterday = data["days"][-2]
    assert yesterday["down_seconds"] == 300
    assert [i["id"] for i in data["incidents"]["past"]] == [1]
    assert data["incidents"]["past"][0]["duration_seconds"] == 300
    assert data["budget"]["downtime_seconds"] == 300
    assert data["budget"]["budget_left_seconds"] == BUDGET - 300


def test_state_is_unknown_when_the_monitor_is_silent(ledger):
    assert status_data(ledger, "S", BUDGET, now=NOW + 3600)["state"] == UNKNOWN_STATE


def test_failures_before_an_incident_show_as_degraded_then_as_an_outage(ledger):
    ledger.record_round(NOW, NOW + 1, 60, False, [])
    assert status_data(ledger, "S", BUDGET, now=NOW + 10)["state"] == DEGRADED
    ledger.open_incident(NOW, NOW + 61, "readyz: /readyz answered 503")
    data = status_data(ledger, "S", BUDGET, now=NOW + 70)
    assert data["state"] == OUTAGE
    assert data["incidents"]["open"][0]["cause"] == "readyz: /readyz answered 503"


def test_the_command_writes_a_page_with_no_external_assets(ledger, tmp_path, capsys):
    out = tmp_path / "site"
    ledger.record_round(NOW, NOW + 1, 60, True, [])
    assert main(["status-page", "--ledger", str(ledger.path), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    html = (out / "index.html").read_text()
    assert not re.search(r"<script|<link|<img|src=|url\(|@import|https?://", html)
    data = json.loads((out / "status.json").read_text())
    assert data["service"] == "Shortener"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "status.json"]


def test_the_command_without_a_ledger(tmp_path, capsys):
    args = ["status-page", "--ledger", str(tmp_path / "none"), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "no ledger" in capsys.readouterr().err


@pytest.mark.browser
def test_chromium_renders_the_page(ledger, tmp_path):
    chromium = need_program("chromium")
    out = tmp_path / "site"
    assert main(["status-page", "--ledger", str(ledger.path), "--out", str(out)]) == 0
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    page = (out / "index.html").as_uri()
    dom = subprocess.run(
        [*flags, "--dump-dom", page], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert 'id="state"' in dom and "Past incidents" in dom
    assert dom.count('<div class="bar ') == 90
    shot = tmp_path / "page.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1000,1400", page],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


def test_the_keeper_writes_in_the_background_and_reports_failures(ledger, tmp_path):
    lines = []
    keeper = StatusPageKeeper(ledger.path, tmp_path / "site", "S", BUDGET, report=lines.append)
    keeper.close()
    assert (tmp_path / "site" / "status.json").is_file()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    keeper = StatusPageKeeper(ledger.path, blocked, "S", BUDGET, report=lines.append)
    keeper.close()
    assert lines and lines[0].startswith("status page not written:")
