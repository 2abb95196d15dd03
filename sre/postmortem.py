"""Draft a post-incident report from the ledger (and the deploy log, when there is one).

`python -m sre postmortem INCIDENT_ID --ledger PATH [--deploy-log PATH] [--out FILE]`
writes Markdown: summary, timeline, duration, budget consumed, and the five questions of
the report template with what the ledger already answers filled in.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sre.budget import add_budget_arguments, budget_report, budget_seconds_from
from sre.ledger import Incident, Ledger, open_existing
from sre.timeline import human_duration, iso, ledger_totals

DEFAULT_DEPLOY_LOG = Path(".state/local/deploy-log.jsonl")
# How much context around the incident the timeline shows.
BEFORE, AFTER = 600.0, 300.0
DEPLOYS_BEFORE = 6 * 3600.0


@dataclass(frozen=True)
class TimelineEntry:
    time: float
    text: str


def parse_time(value: object) -> float | None:
    """Unix seconds from a number or an ISO 8601 string; None when it is neither."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def read_deploy_log(path: Path, start: float, end: float) -> tuple[list[TimelineEntry], str]:
    """Deploy events between `start` and `end`, and a note on what was read."""
    if not path.is_file():
        return [], f"no deploy log at {path}"
    entries, skipped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            moment = parse_time(record.get("time"))
        except (ValueError, AttributeError):
            moment = None
        if moment is None:
            skipped += 1
            continue
        if start <= moment <= end:
            details = [str(record[key]) for key in ("label", "step", "error") if record.get(key)]
            extra = f" ({'; '.join(details)})" if details else ""
            entries.append(TimelineEntry(moment, f"deploy log: {record.get('event', '?')}{extra}"))
    note = f"deploy log {path}" + (f" ({skipped} unreadable lines skipped)" if skipped else "")
    return entries, note


def ledger_timeline(ledger: Ledger, incident: Incident, now: float) -> list[TimelineEntry]:
    """State changes the monitor saw, the incident's milestones and every notification."""
    start = incident.started - BEFORE
    end = (incident.resolved or now) + AFTER
    rounds = ledger.rounds(since=start, until=end)
    probes = ledger.probes(r.id for r in rounds)
    entries = []
    previous: bool | None = None
    for round_ in rounds:
        if round_.ok != previous:
            if round_.ok:
                text = "monitor: checks pass"
            else:
                failed = [p for p in probes[round_.id] if not p.ok]
                text = "monitor: checks fail: " + "; ".join(f"{p.check}: {p.error}" for p in failed)
            version = next((p.version for p in probes[round_.id] if p.version), None)
            if version:
                text += f" (version {version})"
            entries.append(TimelineEntry(round_.started, text))
            previous = round_.ok
    entries.append(TimelineEntry(incident.opened, f"incident #{incident.id} opened"))
    if incident.resolved is not None:
        entries.append(TimelineEntry(incident.resolved, f"incident #{incident.id} resolved"))
    for n in ledger.notifications(incident.id):
        outcome = "sent" if n.ok else f"FAILED: {n.error}"
        entries.append(
            TimelineEntry(n.time, f"notified ({n.event}) by {n.channel} to {n.target}: {outcome}")
        )
    return entries


def draft(
    ledger: Ledger,
    incident_id: int,
    budget_seconds: float,
    deploy_log: Path,
    now: float | None = None,
) -> str:
    """Return the Markdown draft for one incident."""
    now = time.time() if now is None else now
    incident = ledger.incident(incident_id)
    end = incident.recovered if incident.recovered is not None else now
    downtime = ledger_totals(ledger, incident.started, end)
    deploys, deploy_note = read_deploy_log(
        deploy_log, incident.started - DEPLOYS_BEFORE, (incident.resolved or now) + AFTER
    )
    timeline = sorted(ledger_timeline(ledger, incident, now) + deploys, key=lambda e: e.time)
    year = budget_report(ledger, budget_seconds, now=now)
    duration = incident.duration(now)
    share = downtime.down / budget_seconds
    status = "resolved" if incident.resolved else "STILL OPEN"
    unknown = (
        f" The monitor did not see {human_duration(downtime.unknown)} of it (unknown time)."
        if downtime.unknown > 0
        else ""
    )
    lines = [
        f"# Post-incident report: incident #{incident.id} (draft)",
        "",
        f"*Drafted {iso(now)} by `python -m sre postmortem` from the monitor's ledger and "
        f"{deploy_note}. Edit before sending to the customer.*",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Status | {status} |",
        f"| Started (first failed check) | {iso(incident.started)} |",
        f"| Detected (incident opened) | {iso(incident.opened)} |",
        f"| Service back (first good check) | {iso(incident.recovered) or 'not yet'} |",
        f"| Resolved (confirmed) | {iso(incident.resolved) or 'not yet'} |",
        f"| Duration | {human_duration(duration)} ({duration:.1f} s) |",
        f"| Downtime counted against the SLA | {human_duration(downtime.down)}"
        f" ({downtime.down:.1f} s) |",
        f"| Error budget consumed | {share:.1%} of the {human_duration(budget_seconds)}"
        " yearly budget |",
        f"| Error budget left in {year.year} | {human_duration(year.budget_left_seconds)} |",
        f"| Cause seen by the monitor | {incident.cause} |",
        "",
        "## Timeline (UTC)",
        "",
        *[f"- {iso(e.time)} {e.text}" for e in timeline],
        "",
        "## Report",
        "",
        "### 1. What was the reason for the incident?",
        "",
        f"The monitor saw: {incident.cause}. Root cause: _to be filled in by the on-call"
        " engineer._",
        "",
        "### 2. How long did it last?",
        "",
        f"{human_duration(duration)}, from {iso(incident.started)} to"
        f" {iso(incident.recovered) or 'now (still open)'}; {human_duration(downtime.down)}"
        f" of downtime counted against the SLA ({share:.1%} of the yearly budget).{unknown}",
        "",
        "### 3. What steps were taken to resolve it?",
        "",
        "_To be filled in: what was done, by whom, when (see the timeline above)._",
        "",
        "### 4. Is it fully resolved?",
        "",
        (
            f"The service has passed every check since {iso(incident.recovered)}. Confirm the"
            " root cause is fixed, not only the symptom."
            if incident.resolved
            else "No: the incident is still open."
        ),
        "",
        "### 5. What will prevent it from happening again?",
        "",
        "_To be filled in: changes to code, tests, deploy guards or alerts, with owners._",
        "",
    ]
    return "\n".join(lines)


def run_postmortem(args: argparse.Namespace) -> int:
    try:
        budget = budget_seconds_from(args)
        with open_existing(args.ledger) as ledger:
            text = draft(ledger, args.incident_id, budget, args.deploy_log)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"postmortem: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    if str(args.out) == "-":
        print(text)
        return 0
    out = args.out or Path("out") / f"postmortem-{args.incident_id}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("postmortem", help="draft a post-incident report (Markdown)")
    parser.add_argument("incident_id", type=int, metavar="INCIDENT_ID")
    parser.add_argument("--ledger", required=True, type=Path, help="the monitor's SQLite ledger")
    parser.add_argument(
        "--deploy-log",
        type=Path,
        default=DEFAULT_DEPLOY_LOG,
        help=f"JSON-lines deploy log (default {DEFAULT_DEPLOY_LOG}, if present)",
    )
    parser.add_argument(
        "--out", type=Path, help="file to write (default out/postmortem-ID.md; - for stdout)"
    )
    add_budget_arguments(parser)
    parser.set_defaults(func=run_postmortem)
