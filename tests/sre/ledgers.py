"""Made-up ledgers for unit tests: rounds at chosen times, good or bad."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sre.ledger import Ledger, Probe


def at(text: str) -> float:
    """Unix seconds of an ISO 8601 UTC time such as '2026-12-31T23:59:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def probes_for(ok: bool) -> list[Probe]:
    if ok:
        return [
            Probe("readyz", True, 3.0, 200, None, "v1"),
            Probe("journey", True, 9.0, 302, None, "v1"),
        ]
    return [
        Probe("readyz", False, 2.0, 503, "/readyz answered 503", "v2"),
        Probe("journey", False, 4.0, 500, "POST /api/links answered 500", "v2"),
    ]


def ledger_with(
    path: Path, rounds: Iterable[tuple[float, bool]], interval: float = 10.0, took: float = 0.5
) -> Ledger:
    """A ledger holding a round at each (start, ok)."""
    ledger = Ledger(path)
    for start, ok in rounds:
        ledger.record_round(start, start + took, interval, ok, probes_for(ok))
    return ledger


def steady(
    start: float, count: int, ok: bool = True, interval: float = 10.0
) -> list[tuple[float, bool]]:
    """`count` rounds every `interval` seconds from `start`, all with the same outcome."""
    return [(start + i * interval, ok) for i in range(count)]


def count_rounds(path: Path, ok: bool | None = None) -> int:
    """Rounds a running monitor has written so far (0 before it created the ledger)."""
    if not path.exists():
        return 0
    wanted = None if ok is None else int(ok)
    with sqlite3.connect(path) as conn:
        try:
            query = "SELECT COUNT(*) FROM rounds WHERE ? IS NULL OR ok = ?"
            return conn.execute(query, (wanted, wanted)).fetchone()[0]
        except sqlite3.OperationalError:  # the monitor has not created the tables yet
            return 0
