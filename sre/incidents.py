"""Incidents: opened after N failed rounds in a row, resolved after N good ones.

`IncidentTracker` is the state machine the monitor feeds round by round; it stores what it
decides in the ledger, so a restarted monitor carries on with the incident still open.
`python -m sre incidents --ledger PATH [--json]` lists them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sre.ledger import Incident, Ledger, open_existing
from sre.timeline import human_duration, iso

OPENED, UPDATED, RESOLVED = "opened", "updated", "resolved"


@dataclass(frozen=True)
class IncidentEvent:
    """Something to tell people about: an incident opened, changed, or resolved."""

    kind: str
    incident: Incident


class IncidentTracker:
    """Decide, round by round, when an incident opens, changes and resolves."""

    def __init__(
        self,
        ledger: Ledger,
        open_after: int = 3,
        close_after: int = 3,
        update_every: float = 900.0,
    ) -> None:
        if open_after < 1 or close_after < 1:
            raise ValueError("open_after and close_after must be at least 1")
        self.ledger = ledger
        self.open_after = open_after
        self.close_after = close_after
        self.update_every = update_every
        open_now = ledger.open_incidents()
        self.current: Incident | None = open_now[-1] if open_now else None
        self.failures = 0
        self.first_failure = 0.0
        self.successes = 0
        self.first_success = 0.0

    def observe(
        self, started: float, finished: float, ok: bool, cause: str
    ) -> IncidentEvent | None:
        """Feed one round; return the event it caused, if any."""
        if ok:
            return self._good(started, finished)
        return self._bad(started, finished, cause)

    def _bad(self, started: float, finished: float, cause: str) -> IncidentEvent | None:
        self.successes = 0
        if self.failures == 0:
            self.first_failure = started
        self.failures += 1
        if self.current is None:
            if self.failures < self.open_after:
                return None
            self.current = self.ledger.open_incident(self.first_failure, finished, cause)
            return IncidentEvent(OPENED, self.current)
        if cause != self.current.cause or finished - self.current.updated >= self.update_every:
            self.current = self.ledger.update_incident(self.current.id, cause, finished)
            return IncidentEvent(UPDATED, self.current)
        return None

    def _good(self, started: float, finished: float) -> IncidentEvent | None:
        self.failures = 0
        if self.current is None:
            return None
        if self.successes == 0:
            self.first_success = started
        self.successes += 1
        if self.successes < self.close_after:
            return None
        resolved = self.ledger.resolve_incident(self.current.id, self.first_success, finished)
        self.current = None
        self.successes = 0
        return IncidentEvent(RESOLVED, resolved)


def incident_json(incident: Incident, now: float) -> dict:
    """An incident as JSON, with ISO times and its duration so far."""
    return {
        "id": incident.id,
        "state": "open" if incident.is_open else "resolved",
        "start": iso(incident.started),
        "opened": iso(incident.opened),
        "end": iso(incident.recovered),
        "resolved": iso(incident.resolved),
        "duration_seconds": round(incident.duration(now), 3),
        "cause": incident.cause,
    }


def format_incidents(incidents: list[Incident], now: float) -> str:
    """A table: id, start, end, duration, cause."""
    if not incidents:
        return "no incidents"
    lines = [f"{'id':>4}  {'start':<20}  {'end':<20}  {'duration':>12}  cause"]
    for incident in incidents:
        end = iso(incident.recovered) or "ongoing"
        lines.append(
            f"{incident.id:>4}  {iso(incident.started):<20}  {end:<20}"
            f"  {human_duration(incident.duration(now)):>12}  {incident.cause}"
        )
    return "\n".join(lines)


def run_incidents(args: argparse.Namespace) -> int:
    """List the ledger's incidents."""
    try:
        with open_existing(args.ledger) as ledger:
            incidents = ledger.incidents()
    except FileNotFoundError as exc:
        print(f"incidents: {exc}", file=sys.stderr)
        return 2
    now = time.time()
    if args.json:
        print(json.dumps([incident_json(i, now) for i in incidents], indent=2))
    else:
        print(format_incidents(incidents, now))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("incidents", help="list incidents: start, end, duration, cause")
    parser.add_argument("--ledger", required=True, type=Path, help="the monitor's SQLite ledger")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run_incidents)
