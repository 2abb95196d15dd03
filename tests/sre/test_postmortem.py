"""The postmortem draft: timeline from the ledger and the deploy log, duration, budget."""

import json

import pytest

from sre.cli import main
from sre.incidents import IncidentTracker
from sre.ledger import Notification
from sre.postmortem import draft, parse_time, read_deploy_log
from tests.sre.ledgers import at, ledger_with, steady

START = at("2026-07-14T09:00:00")
BUDGET = 1200.0


@pytest.fixture
def ledger(tmp_path):
    """Good rounds, then 3 minutes of failures (version v2), then good again."""
    rounds = steady(START, 30) + steady(START + 300, 18, ok=False) + steady(START + 480, 30)
    book = ledger_with(tmp_path / "l.sqlite3", rounds)
    tracker = IncidentTracker(book, open_after=3, close_after=3)
    for t, ok in rounds:
        tracker.observe(t, t + 0.5, ok, "readyz: /readyz answered 503")
    book.record_notification(
        Notification(START + 330, 1, "opened", "email", "nike@example.org", True, 2, None)
    )
    yield book
    book.close()


def deploy_log(tmp_path, lines):
    path = tmp_path / "deploy-log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_draft_has_the_timeline_duration_budget_and_five_questions(ledger, tmp_path):
    log = deploy_log(
        tmp_path,
        [
            json.dumps({"time": "2026-07-14T08:59:00Z", "event": "deploy started", "label": "v2"}),
            json.dumps({"time": START + 290, "event": "deploy finished", "label": "v2"}),
            json.dumps(
                {
                    "time": START + 295,
                    "event": "step-failed",
                    "label": "v2",
                    "step": "smoke suite",
                    "error": "POST /api/links answered 500",
                }
            ),
            json.dumps({"time": "2026-07-14T09:07:00+00:00", "event": "rollback", "label": "v1"}),
            json.dumps({"time": "2026-07-13T09:00:00Z", "event": "deploy finished", "label": "v0"}),
            "not json",
            json.dumps({"event": "no time"}),
        ],
    )
    text = draft(ledger, 1, BUDGET, log, now=START + 3600)
    assert "| Duration | 3 min 00 s (180.0 s) |" in text
    assert "| Error budget consumed | 15.0% of the 20 min 00 s yearly budget |" in text
    assert "| Error budget left in 2026 | 17 min 00 s |" in text
    timeline = [line for line in text.splitlines() if line.startswith("- 2026")]
    assert timeline == [
        "- 2026-07-14T08:59:00Z deploy log: deploy started (v2)",
        "- 2026-07-14T09:00:00Z monitor: checks pass (version v1)",
        "- 2026-07-14T09:04:50Z deploy log: deploy finished (v2)",
        "- 2026-07-14T09:04:55Z deploy log: step-failed (v2; smoke suite;"
        " POST /api/links answered 500)",
        "- 2026-07-14T09:05:00Z monitor: checks fail: readyz: /readyz answered 503;"
        " journey: POST /api/links answered 500 (version v2)",
        "- 2026-07-14T09:05:20Z incident #1 opened",
        "- 2026-07-14T09:05:30Z notified (opened) by email to nike@example.org: sent",
        "- 2026-07-14T09:07:00Z deploy log: rollback (v1)",
        "- 2026-07-14T09:08:00Z monitor: checks pass (version v1)",
        "- 2026-07-14T09:08:20Z incident #1 resolved",
    ]
    assert "(2 unreadable lines skipped)" in text
    for question in ("reason", "How long", "steps were taken", "fully resolved", "prevent"):
        assert question in text


def test_an_open_incident_is_drafted_as_still_open(tmp_path):
    book = ledger_with(tmp_path / "l.sqlite3", steady(START, 10, ok=False))
    tracker = IncidentTracker(book, open_after=2)
    for t, ok in steady(START, 10, ok=False):
        tracker.observe(t, t + 0.5, ok, "journey: connection failed: Connection refused")
    text = draft(book, 1, BUDGET, tmp_path / "absent.jsonl", now=START + 200)
    assert "| Status | STILL OPEN |" in text
    assert "No: the incident is still open." in text
    assert "| Duration | 3 min 20 s (200.0 s) |" in text
    assert "The monitor did not see 1 min 35 s of it (unknown time)." in text
    assert "no deploy log at" in text


def test_the_command_writes_a_file_or_stdout(ledger, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["postmortem", "1", "--ledger", str(ledger.path)]) == 0
    assert (tmp_path / "out" / "postmortem-1.md").read_text().startswith("# Post-incident")
    assert main(["postmortem", "1", "--ledger", str(ledger.path), "--out", "-"]) == 0
    assert "## Timeline (UTC)" in capsys.readouterr().out


def test_the_command_refuses_an_unknown_incident_or_ledger(ledger, tmp_path, capsys):
    assert main(["postmortem", "9", "--ledger", str(ledger.path)]) == 2
    assert "no incident 9" in capsys.readouterr().err
    assert main(["postmortem", "1", "--ledger", str(tmp_path / "none")]) == 2
    assert "no ledger" in capsys.readouterr().err


def test_times_in_the_deploy_log(tmp_path):
    assert parse_time(12.5) == 12.5
    assert parse_time("2026-01-01T00:00:00Z") == at("2026-01-01T00:00:00")
    assert parse_time("yesterday") is None
    assert parse_time(None) is None
    assert read_deploy_log(tmp_path / "missing.jsonl", 0, 1) == (
        [],
        f"no deploy log at {tmp_path / 'missing.jsonl'}",
    )
