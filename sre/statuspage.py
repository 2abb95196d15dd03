"""A static status page (HTML with no external assets, plus the same data as JSON).

`python -m sre status-page --ledger PATH --out DIR` writes DIR/index.html and
DIR/status.json, ready to upload to a host apart from the service: a status page served
by the service it reports on goes down with it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from html import escape
from pathlib import Path

from sre.budget import add_budget_arguments, budget_report, budget_seconds_from
from sre.incidents import incident_json
from sre.ledger import Ledger, open_existing
from sre.timeline import UP, daily_totals, day_start, human_duration, iso, reach, segments

DAYS = 90
OPERATIONAL, DEGRADED, OUTAGE = "operational", "degraded", "major outage"
UNKNOWN_STATE = "unknown"


def current_state(ledger: Ledger, now: float) -> tuple[str, float | None]:
    """The state now, and since when it has held."""
    open_incidents = ledger.open_incidents()
    if open_incidents:
        return OUTAGE, open_incidents[-1].started
    recent = ledger.rounds(since=now - 86400, until=now + 1)
    if not recent or reach(recent[-1]) < now:
        return UNKNOWN_STATE, reach(recent[-1]) if recent else None
    # Failures not yet confirmed as an incident (fewer than N rounds) show as degraded.
    last = segments(recent, recent[0].started, now)[-1]
    return (OPERATIONAL if last.state == UP else DEGRADED), last.start


def status_data(
    ledger: Ledger, service: str, budget_seconds: float, now: float | None = None
) -> dict:
    """Everything the page shows, as JSON-ready data."""
    now = time.time() if now is None else now
    first_day = day_start(now) - (DAYS - 1) * 86400
    bars = []
    for date, day in daily_totals(ledger, first_day, DAYS, now):
        uptime = day.up / day.known if day.known else None
        bars.append(
            {
                "date": date,
                "up_seconds": round(day.up, 3),
                "down_seconds": round(day.down, 3),
                "unknown_seconds": round(day.unknown, 3),
                "uptime": uptime,
            }
        )
    state, since = current_state(ledger, now)
    incidents = [incident_json(i, now) for i in reversed(ledger.incidents())]
    report = budget_report(ledger, budget_seconds, now=now)
    return {
        "service": service,
        "generated_at": iso(now),
        "state": state,
        "state_since": iso(since),
        "version": ledger.latest_version(),
        "days": bars,
        "incidents": {
            "open": [i for i in incidents if i["state"] == "open"],
            "past": [i for i in incidents if i["state"] != "open"],
        },
        "budget": report.as_json(),
    }


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;
color:#1d2125}
main{max-width:880px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.15rem;margin:28px 0 10px}
.muted{color:#5c6670;font-size:.9rem}
.banner{border-radius:8px;padding:16px 20px;color:#fff;font-size:1.2rem;font-weight:600;
margin:18px 0}
.operational{background:#2e7d32}.degraded{background:#ef6c00}.major-outage{background:#c62828}.unknown{background:#6b7280}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 20px}
.bars{display:flex;gap:2px;height:40px;align-items:stretch}
.bar{flex:1;border-radius:2px;background:#d0d5db}
.bar.up{background:#43a047}.bar.partial{background:#f9a825}.bar.down{background:#c62828}
.axis{display:flex;justify-content:space-between;margin-top:6px}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #eceff2;font-size:.92rem;
vertical-align:top}
.meter{height:12px;background:#e6e9ed;border-radius:6px;overflow:hidden;margin:8px 0}
.meter>div{height:100%;background:#c62828}
.figures{display:flex;gap:32px;flex-wrap:wrap}.figures b{display:block;font-size:1.3rem}
.when{white-space:nowrap}
.legend{display:flex;gap:18px;margin-top:10px;font-size:.8rem}
.legend i{display:inline-block;width:10px;height:10px;margin-right:5px;vertical-align:-1px}
"""


def _bar(day: dict) -> str:
    uptime = day["uptime"]
    if uptime is None:
        css, label = "", "no data"
    elif day["down_seconds"] == 0:
        css, label = "up", "100% up"
    else:
        css = "down" if day["down_seconds"] >= 300 else "partial"
        label = f"{uptime:.4%} up, {human_duration(day['down_seconds'])} down"
    if uptime is not None and day["unknown_seconds"] > 0:
        label += f", {human_duration(day['unknown_seconds'])} not monitored"
    return f'<div class="bar {css}" title="{escape(day["date"])}: {escape(label)}"></div>'


def _when(moment: str | None) -> str:
    """An ISO time as `2026-12-03 13:23:22 UTC`, for people."""
    return escape((moment or "").replace("T", " ").replace("Z", " UTC"))


def _incident_rows(incidents: list[dict]) -> str:
    if not incidents:
        return '<tr><td colspan="5" class="muted">none</td></tr>'
    return "\n".join(
        f"<tr><td>#{i['id']}</td><td class=when>{_when(i['start'])}</td>"
        f"<td class=when>{_when(i['end']) if i['end'] else 'ongoing'}</td>"
        f"<td>{escape(human_duration(i['duration_seconds']))}</td>"
        f"<td>{escape(i['cause'])}</td></tr>"
        for i in incidents
    )


def render_html(data: dict) -> str:
    """The page: current state, 90-day bars, incidents, the year's budget."""
    budget = data["budget"]
    state_css = data["state"].replace(" ", "-")
    known = [d for d in data["days"] if d["uptime"] is not None]
    up = sum(d["up_seconds"] for d in known)
    down = sum(d["down_seconds"] for d in known)
    ninety = f"{up / (up + down):.4%}" if up + down else "no data"
    used = min(max(budget["budget_used_fraction"], 0.0), 1.0)
    since = f" since {_when(data['state_since'])}" if data["state_since"] else ""
    if data["state"] == UNKNOWN_STATE:
        since += ": the monitor is not reporting"
    headings = "<tr><th>Incident</th><th>Start</th><th>End</th><th>Duration</th><th>Cause</th></tr>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(data["service"])} status</title>
<style>{CSS}</style></head>
<body><main>
<h1>{escape(data["service"])} status</h1>
<div class="muted">Generated {_when(data["generated_at"])} by the synthetic monitor
 (version seen: {escape(data["version"] or "unknown")})</div>
<div class="banner {state_css}" id="state">{escape(data["state"].capitalize())}{since}</div>

<h2>Open incidents</h2>
<div class="card"><table id="open-incidents">{headings}
{_incident_rows(data["incidents"]["open"])}</table></div>

<h2>Uptime, last {len(data["days"])} days</h2>
<div class="card"><div class="bars" id="bars">
{"".join(_bar(d) for d in data["days"])}
</div><div class="axis muted"><span>{escape(data["days"][0]["date"])}</span>
<span>{ninety} of monitored time up</span><span>today</span></div>
<div class="legend muted"><span><i class="bar up"></i>no downtime</span>
<span><i class="bar partial"></i>under 5 min down</span>
<span><i class="bar down"></i>5 min or more down</span>
<span><i class="bar"></i>not monitored</span></div></div>

<h2>Error budget {budget["year"]}</h2>
<div class="card" id="budget"><div class="figures">
<div><b>{escape(human_duration(budget["budget_seconds"]))}</b>allowed a year</div>
<div><b>{escape(human_duration(budget["downtime_seconds"]))}</b>used</div>
<div><b>{escape(human_duration(budget["budget_left_seconds"]))}</b>left</div>
<div><b>{escape(human_duration(budget["unknown_seconds"]))}</b>not monitored</div>
</div><div class="meter"><div style="width:{used * 100:.2f}%"></div></div>
<div class="muted">{budget["budget_used_fraction"]:.1%} of the budget used.
 Time the monitor did not see is shown as not monitored, never as up.</div></div>

<h2>Past incidents</h2>
<div class="card"><table id="past-incidents">{headings}
{_incident_rows(data["incidents"]["past"])}</table></div>
</main></body></html>
"""


def write_status_page(
    ledger: Ledger, out_dir: Path, service: str, budget_seconds: float, now: float | None = None
) -> dict:
    """Write index.html and status.json into `out_dir`; return the data."""
    data = status_data(ledger, service, budget_seconds, now)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Write beside and rename, so an uploader never picks up a half-written page.
    for name, text in (
        ("status.json", json.dumps(data, indent=2)),
        ("index.html", render_html(data)),
    ):
        partial = out_dir / f".{name}.partial"
        partial.write_text(text, encoding="utf-8")
        partial.replace(out_dir / name)
    return data


class StatusPageKeeper:
    """Rewrite the status page on a background thread whenever asked.

    The monitor asks every minute and on every incident event; summing a year of rounds
    takes seconds, which must not delay the next round.
    """

    def __init__(
        self,
        ledger_path: Path,
        out_dir: Path,
        service: str,
        budget_seconds: float,
        report: Callable[[str], None] = print,
    ) -> None:
        self.args = (out_dir, service, budget_seconds)
        self.ledger_path = ledger_path
        self.report = report
        self.wanted = threading.Event()
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="status-page", daemon=True)
        self.thread.start()

    def request(self) -> None:
        self.wanted.set()

    def close(self, timeout: float = 60.0) -> None:
        """Write the page one last time, then stop."""
        self.closing = True
        self.wanted.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        with Ledger(self.ledger_path) as ledger:
            while True:
                self.wanted.wait()
                self.wanted.clear()
                try:
                    write_status_page(ledger, *self.args)
                except (OSError, sqlite3.Error) as exc:
                    self.report(f"status page not written: {exc}")
                if self.closing:
                    return


def run_status_page(args: argparse.Namespace) -> int:
    try:
        budget = budget_seconds_from(args)
        with open_existing(args.ledger) as ledger:
            data = write_status_page(ledger, args.out, args.service, budget)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"status-page: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out / 'index.html'} and {args.out / 'status.json'}: {data['state']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status-page", help="write a static status page (HTML + JSON)")
    parser.add_argument("--ledger", required=True, type=Path, help="the monitor's SQLite ledger")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.add_argument("--service", default="Shortener", help="name shown on the page")
    add_budget_arguments(parser)
    parser.set_defaults(func=run_status_page)
