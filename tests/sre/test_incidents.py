"""Incidents open after N failed rounds in a row and resolve after N good ones."""

import json

import pytest

from sre.cli import main
from sre.incidents import OPENED, RESOLVED, UPDATED, IncidentTracker
from sre.ledger import Ledger

CAUSE = "journey: POST /api/links answered 500"


def feed(tracker: IncidentTracker, outcomes: str, start: float = 1000.0, interval: float = 10):
    """Feed rounds written as a string: '.' good, 'x' failed; return the events by round."""
    events = {}
    for index, mark in enumerate(outcomes):
        t = start + index * interval
        event = tracker.observe(t, t + 1, mark == ".", CAUSE)
        if event is not None:
            events[index] = event
    return events


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        yield ledger


def test_opens_after_n_failures_and_resolves_after_n_good_rounds(ledger):
    events = feed(IncidentTracker(ledger, open_after=3, close_after=2), "..xxxx..x...")
    assert [(i, e.kind) for i, e in events.items()] == [(4, OPENED), (7, RESOLVED)]
    incident = events[7].incident
    assert incident.started == 1020  # the first failed round, not the detection
    assert incident.opened == 1041
    assert incident.recovered == 1060  # the first good round of the closing run
    assert incident.resolved == 1071
    assert incident.duration(now=0) == 40
    assert ledger.open_incidents() == []


def test_a_flapping_service_never_reaching_n_failures_opens_nothing(ledger):
    assert feed(IncidentTracker(ledger, open_after=3), "xx.xx.xx.x.xx.") == {}


def test_flapping_during_an_incident_keeps_it_open_until_n_good_rounds(ledger):
    events = feed(IncidentTracker(ledger, open_after=2, close_after=3), "xx..x..x...")
    assert [(i, e.kind) for i, e in events.items()] == [(1, OPENED), (10, RESOLVED)]
    assert events[10].incident.recovered == 1080


def test_a_new_cause_or_a_long_outage_sends_an_update(ledger):
    tracker = IncidentTracker(ledger, open_after=1, close_after=1, update_every=100)
    assert tracker.observe(0, 1, False, CAUSE).kind == OPENED
    assert tracker.observe(10, 11, False, CAUSE) is None
    changed = tracker.observe(20, 21, False, "readyz: connection failed: Connection refused")
    assert changed.kind == UPDATED
    assert changed.incident.cause.startswith("readyz")
    assert tracker.observe(30, 31, False, changed.incident.cause) is None
    assert tracker.observe(130, 131, False, changed.incident.cause).kind == UPDATED


def test_a_restarted_monitor_carries_on_with_the_open_incident(tmp_path):
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as ledger:
        events = feed(IncidentTracker(ledger, open_after=2), "xxx")
        assert events[1].kind == OPENED
    with Ledger(path) as ledger:
        tracker = IncidentTracker(ledger, open_after=2, close_after=2)
        assert tracker.current is not None
        events = feed(tracker, "x..", start=5000)
        assert events[2].kind == RESOLVED
        assert len(ledger.incidents()) == 1


def test_thresholds_must_be_positive(ledger):
    with pytest.raises(ValueError, match="at least 1"):
        IncidentTracker(ledger, open_after=0)


def test_incidents_command_lists_them(tmp_path, capsys):
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as ledger:
        feed(IncidentTracker(ledger, open_after=1, close_after=1), "x.xx", start=1.8e9)
    assert main(["incidents", "--ledger", str(path)]) == 0
    table = capsys.readouterr().out
    assert "ongoing" in table and "10 s" in table and CAUSE in table
    assert main(["incidents", "--ledger", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [i["state"] for i in listed] == ["resolved", "open"]
    assert listed[0]["duration_seconds"] == 10
    assert listed[0]["start"] == "2027-01-15T08:00:00Z"


def test_incidents_command_without_a_ledger(tmp_path, capsys):
    assert main(["incidents", "--ledger", str(tmp_path / "none.sqlite3")]) == 2
    assert "no ledger" in capsys.readouterr().err
    empty = tmp_path / "empty.sqlite3"
    Ledger(empty).close()
    assert main(["incidents", "--ledger", str(empty)]) == 0
    assert "no incidents" in capsys.readouterr().out
