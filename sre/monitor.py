"""The synthetic monitor: probe the service every interval, keep the ledger, open incidents.

`python -m sre monitor --url URL --interval SECONDS --ledger PATH` runs until SIGINT or
SIGTERM (or for --rounds / --duration), beside production, never inside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sre.budget import add_budget_arguments, budget_seconds_from
from sre.incident_notify import (
    Dispatcher,
    NotifyConfig,
    add_notify_arguments,
    message_for,
    notify_config_from,
)
from sre.incidents import IncidentEvent, IncidentTracker
from sre.ledger import Ledger
from sre.probes import describe_failure, probe_round, round_ok
from sre.progress import Progress
from sre.statuspage import StatusPageKeeper

STATUS_PAGE_EVERY = 60.0


@dataclass
class MonitorSettings:
    """How to watch: the service, the cadence and the incident thresholds."""

    url: str
    ledger: Path
    interval: float = 10.0
    timeout: float = 5.0
    open_after: int = 3
    close_after: int = 3
    update_every: float = 900.0
    rounds: int | None = None
    duration: float | None = None
    admin_token: str | None = None
    budget_seconds: float = 1200.0
    status_page: Path | None = None
    service: str = "Shortener"


@dataclass
class MonitorSummary:
    rounds: int = 0
    failed_rounds: int = 0
    opened: int = 0
    resolved: int = 0
    notifications_sent: int = 0
    notifications_failed: int = 0


class Monitor:
    """Run rounds on a fixed cadence until told to stop."""

    def __init__(self, settings: MonitorSettings, notify: NotifyConfig, progress: Progress) -> None:
        self.settings = settings
        self.progress = progress
        self.stop_event = threading.Event()
        self.ledger = Ledger(settings.ledger)
        self.tracker = IncidentTracker(
            self.ledger, settings.open_after, settings.close_after, settings.update_every
        )
        self.dispatcher = Dispatcher(
            notify, settings.ledger, settings.budget_seconds, report=progress.say
        )
        self.page_keeper = (
            StatusPageKeeper(
                settings.ledger,
                settings.status_page,
                settings.service,
                settings.budget_seconds,
                report=progress.say,
            )
            if settings.status_page is not None
            else None
        )
        self.summary = MonitorSummary()
        self.last_status_page = 0.0
        self.leftovers: list[str] = []

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Finish the current round, then stop (safe to call from a signal handler)."""
        self.stop_event.set()

    def run(self) -> MonitorSummary:
        """Probe until stopped, the round limit or the duration; return what happened."""
        s = self.settings
        began = time.monotonic()
        next_due = began
        if self.tracker.current is not None:
            self.progress.say(f"incident #{self.tracker.current.id} is still open from before")
        try:
            while not self.stop_event.is_set():
                self.run_round()
                if s.rounds is not None and self.summary.rounds >= s.rounds:
                    break
                next_due += s.interval
                if next_due < time.monotonic():  # overran: start now and keep the cadence after
                    next_due = time.monotonic()
                if s.duration is not None and next_due - began >= s.duration:
                    break
                self.stop_event.wait(max(0.0, next_due - time.monotonic()))
        finally:
            self.dispatcher.close()
            self.summary.notifications_sent = self.dispatcher.sent
            self.summary.notifications_failed = self.dispatcher.failed
            if self.page_keeper is not None:
                self.page_keeper.close()
            self.ledger.close()
        return self.summary

    def run_round(self) -> None:
        s = self.settings
        started = time.time()
        results = probe_round(s.url, s.timeout, s.admin_token, self.leftovers)
        finished = time.time()
        ok = round_ok(results)
        self.ledger.record_round(started, finished, s.interval, ok, results)
        self.summary.rounds += 1
        self.summary.failed_rounds += 0 if ok else 1
        version = next((r.version for r in reversed(results) if r.version), "-")
        checks = " ".join(
            f"{r.check}={'ok' if r.ok else 'FAIL'}:{r.latency_ms:.0f}ms" for r in results
        )
        line = f"round {self.summary.rounds}: {'ok' if ok else 'FAILED'} {checks} version={version}"
        if not ok:
            line += f" ({describe_failure(results)})"
        self.progress.say(line)
        event = self.tracker.observe(started, finished, ok, describe_failure(results))
        if event is not None:
            self.handle(event)
        elif finished - self.last_status_page >= STATUS_PAGE_EVERY:
            self.refresh_status_page()

    def handle(self, event: IncidentEvent) -> None:
        incident = event.incident
        self.progress.say(f"incident #{incident.id} {event.kind}: {incident.cause}")
        if event.kind == "opened":
            self.summary.opened += 1
        elif event.kind == "resolved":
            self.summary.resolved += 1
        self.dispatcher.submit(message_for(event, self.settings.url))
        self.refresh_status_page()

    def refresh_status_page(self) -> None:
        if self.page_keeper is not None:
            self.page_keeper.request()
            self.last_status_page = time.time()


def positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def run_monitor(args: argparse.Namespace) -> int:
    """Parse settings, install signal handlers, and run until stopped."""
    try:
        notify = notify_config_from(args)
        budget = budget_seconds_from(args)
    except (KeyError, ValueError) as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return 2
    settings = MonitorSettings(
        url=args.url.rstrip("/"),
        ledger=args.ledger,
        interval=args.interval,
        timeout=args.timeout,
        open_after=args.open_after,
        close_after=args.close_after,
        update_every=args.update_every,
        rounds=args.rounds,
        duration=args.duration,
        admin_token=args.admin_token or os.environ.get("ADMIN_TOKEN") or None,
        budget_seconds=budget,
        status_page=args.status_page,
        service=args.service,
    )
    progress = Progress(f"monitor {settings.url}")
    progress.say(
        f"probing {settings.url} every {settings.interval:g}s (timeout {settings.timeout:g}s);"
        f" incident after {settings.open_after} failed rounds, resolved after"
        f" {settings.close_after} good ones; ledger {settings.ledger};"
        f" {len(notify.webhooks)} webhook(s), email {'on' if notify.smtp else 'off'};"
        f" links {'disabled after each round' if settings.admin_token else 'left in place'}"
    )
    monitor = Monitor(settings, notify, progress)
    previous = {sig: signal.signal(sig, monitor.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = monitor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    progress.summary(
        f"{summary.rounds} rounds, {summary.failed_rounds} failed;"
        f" incidents opened {summary.opened}, resolved {summary.resolved};"
        f" notifications sent {summary.notifications_sent},"
        f" failed {summary.notifications_failed}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("monitor", help="synthetic monitor: probe, record, alert")
    parser.add_argument("--url", required=True, help="base URL of the service")
    parser.add_argument("--ledger", required=True, type=Path, help="SQLite ledger to append to")
    parser.add_argument("--interval", type=positive, default=10.0, help="seconds between rounds")
    parser.add_argument("--timeout", type=positive, default=5.0, help="seconds per request")
    parser.add_argument(
        "--open-after",
        type=at_least_one,
        default=3,
        help="failed rounds in a row that open an incident (default 3)",
    )
    parser.add_argument(
        "--close-after",
        type=at_least_one,
        default=3,
        help="good rounds in a row that resolve it (default 3)",
    )
    parser.add_argument(
        "--update-every",
        type=positive,
        default=900.0,
        help="re-notify an unchanged open incident this often (seconds)",
    )
    parser.add_argument("--rounds", type=at_least_one, help="stop after this many rounds")
    parser.add_argument("--duration", type=positive, help="stop after this many seconds")
    parser.add_argument(
        "--admin-token", help="disable the links the probe creates (env ADMIN_TOKEN)"
    )
    parser.add_argument(
        "--status-page", type=Path, metavar="DIR", help="also keep a status page in DIR up to date"
    )
    parser.add_argument("--service", default="Shortener", help="name used in messages and pages")
    add_budget_arguments(parser)
    add_notify_arguments(parser)
    parser.set_defaults(func=run_monitor)
