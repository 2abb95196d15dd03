"""The error budget: downtime against the SLA's allowance for a calendar year.

`python -m sre sla --ledger PATH [--json]` prints downtime, availability, budget used and
left, and burn rates over 1 h, 6 h and 3 days (1.0 = spending exactly the yearly allowance).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sre.ledger import Ledger, open_existing
from sre.timeline import Totals, human_duration, iso, ledger_totals, year_bounds

DEFAULT_BUDGET_MINUTES = 20.0
CUSTOMERS_FILE = Path(__file__).with_name("customers.json")
BURN_WINDOWS = {"1h": 3600.0, "6h": 6 * 3600.0, "3d": 3 * 86400.0}


@dataclass(frozen=True)
class BudgetReport:
    """The year's downtime and budget as measured by the monitor.

    The window runs from the year's start (or the ledger's first round, if later) to now
    (or the year's end). `unknown_seconds` is time inside it that no round vouches for.
    """

    year: int
    window_start: float
    window_end: float
    budget_seconds: float
    downtime_seconds: float
    unknown_seconds: float
    up_seconds: float
    availability: float | None
    budget_left_seconds: float
    burn_rates: dict[str, float | None]

    @property
    def budget_used_fraction(self) -> float:
        return self.downtime_seconds / self.budget_seconds if self.budget_seconds else 0.0

    def as_json(self) -> dict:
        data = asdict(self)
        data["window_start"] = iso(self.window_start)
        data["window_end"] = iso(self.window_end)
        data["budget_used_fraction"] = self.budget_used_fraction
        # The worst case, should every unknown second have been downtime.
        data["budget_left_if_unknown_was_down_seconds"] = (
            self.budget_left_seconds - self.unknown_seconds
        )
        return data


def burn_rate(window: Totals, allowed_fraction: float) -> float | None:
    """How many times faster than the allowance the budget burned; None without data."""
    if window.known <= 0 or allowed_fraction <= 0:
        return None
    return (window.down / window.known) / allowed_fraction


def budget_report(
    ledger: Ledger, budget_seconds: float, now: float | None = None, year: int | None = None
) -> BudgetReport:
    """Measure `year` (the current UTC year by default) from the ledger."""
    now = time.time() if now is None else now
    year = datetime.fromtimestamp(now, UTC).year if year is None else year
    year_start, year_end = year_bounds(year)
    end = min(year_end, now)
    first = ledger.first_round_start()
    start = end if first is None else min(max(year_start, first), end)
    year_totals = ledger_totals(ledger, start, end)
    allowed_fraction = budget_seconds / (year_end - year_start)
    burn_rates = {}
    for label, seconds in BURN_WINDOWS.items():
        w_start = end - seconds
        burn_rates[label] = burn_rate(ledger_totals(ledger, w_start, end), allowed_fraction)
    window = end - start
    return BudgetReport(
        year=year,
        window_start=start,
        window_end=end,
        budget_seconds=budget_seconds,
        downtime_seconds=year_totals.down,
        unknown_seconds=year_totals.unknown,
        up_seconds=year_totals.up,
        availability=year_totals.up / window if window > 0 else None,
        budget_left_seconds=budget_seconds - year_totals.down,
        burn_rates=burn_rates,
    )


def customer_budget_minutes(customer: str, path: Path = CUSTOMERS_FILE) -> float:
    """The yearly downtime allowance in a customer's SLA, from the customers file."""
    customers = json.loads(path.read_text())
    if customer not in customers:
        raise KeyError(f"customer {customer!r} is not in {path} (known: {', '.join(customers)})")
    return float(customers[customer]["budget_minutes_per_year"])


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that say how large the yearly budget is (shared by several commands)."""
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="downtime allowed per calendar year (env SLA_BUDGET_MINUTES; default 20)",
    )
    parser.add_argument(
        "--customer", help="take the allowance from this customer's entry in --customers"
    )
    parser.add_argument(
        "--customers", type=Path, default=CUSTOMERS_FILE, help="JSON file of customer SLAs"
    )


def budget_seconds_from(args: argparse.Namespace) -> float:
    """Resolve the budget: --budget-minutes, then --customer, then env, then 20 minutes."""
    if args.budget_minutes is not None:
        minutes = args.budget_minutes
    elif args.customer:
        minutes = customer_budget_minutes(args.customer, args.customers)
    else:
        minutes = float(os.environ.get("SLA_BUDGET_MINUTES", DEFAULT_BUDGET_MINUTES))
    if minutes <= 0:
        raise ValueError(f"the budget must be positive, not {minutes} minutes")
    return minutes * 60


def format_report(report: BudgetReport) -> str:
    """A short human-readable report."""

    def rate(value: float | None) -> str:
        return "no data" if value is None else f"{value:.2f}x"

    availability = "no data" if report.availability is None else f"{report.availability:.6%}"
    lines = [
        f"SLA {report.year}: measured {iso(report.window_start)} .. {iso(report.window_end)}",
        f"  availability   {availability}",
        f"  downtime       {human_duration(report.downtime_seconds)}"
        f" ({report.downtime_seconds:.1f} s)",
        f"  unknown        {human_duration(report.unknown_seconds)} (monitor not running;"
        " never counted as up)",
        f"  budget         {human_duration(report.budget_seconds)} a year",
        f"  budget used    {report.budget_used_fraction:.1%}",
        f"  budget left    {human_duration(report.budget_left_seconds)}"
        f" ({report.budget_left_seconds:.1f} s)",
        "  burn rate      " + ", ".join(f"{k} {rate(v)}" for k, v in report.burn_rates.items()),
    ]
    if report.budget_left_seconds < 0:
        lines.append("  THE BUDGET IS SPENT: the SLA is breached for this year")
    return "\n".join(lines)


def run_sla(args: argparse.Namespace) -> int:
    """Print the error budget report."""
    try:
        budget = budget_seconds_from(args)
        with open_existing(args.ledger) as ledger:
            report = budget_report(ledger, budget, year=args.year)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"sla: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(format_report(report))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sla", help="error budget: downtime, availability, burn rates")
    parser.add_argument("--ledger", required=True, type=Path, help="the monitor's SQLite ledger")
    parser.add_argument("--year", type=int, help="calendar year (UTC); the current one by default")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_budget_arguments(parser)
    parser.set_defaults(func=run_sla)
