"""Turn the ledger's rounds into a timeline of up, down and unknown stretches.

A round vouches for the service from its start until the next round starts, but never for
longer than its own duration or 1.5 intervals, whichever is longer. Time no round vouches
for (the monitor was stopped, crashed or stalled) is unknown: never counted as up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sre.ledger import Round

UP, DOWN, UNKNOWN = "up", "down", "unknown"
# How far past its interval a round still vouches, to absorb scheduling jitter.
REACH_INTERVALS = 1.5


@dataclass(frozen=True)
class Segment:
    """A stretch of time [start, end) in one state."""

    start: float
    end: float
    state: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Totals:
    """Seconds spent in each state over some window."""

    up: float = 0.0
    down: float = 0.0
    unknown: float = 0.0

    @property
    def known(self) -> float:
        return self.up + self.down

    @property
    def total(self) -> float:
        return self.up + self.down + self.unknown


def reach(round_: Round) -> float:
    """The latest moment a round vouches for."""
    return max(round_.finished, round_.started + REACH_INTERVALS * round_.interval)


def segments(rounds: Iterable[Round], start: float, end: float) -> list[Segment]:
    """Split [start, end) into merged up/down/unknown segments."""
    # Two rounds starting at once (two monitors on one ledger): the failed one wins.
    ordered = sorted(rounds, key=lambda r: (r.started, r.ok is False))
    out: list[Segment] = []

    def emit(seg_start: float, seg_end: float, state: str) -> None:
        seg_start, seg_end = max(seg_start, start), min(seg_end, end)
        if seg_end <= seg_start:
            return
        if out and out[-1].state == state and out[-1].end == seg_start:
            out[-1] = Segment(out[-1].start, seg_end, state)
        else:
            out.append(Segment(seg_start, seg_end, state))

    cursor = start
    for index, round_ in enumerate(ordered):
        following = ordered[index + 1].started if index + 1 < len(ordered) else math.inf
        covered_until = min(reach(round_), following)
        if round_.started > cursor:
            emit(cursor, round_.started, UNKNOWN)
        emit(max(round_.started, cursor), covered_until, UP if round_.ok else DOWN)
        cursor = max(cursor, covered_until)
    emit(cursor, end, UNKNOWN)
    return out


def totals(segs: Iterable[Segment], start: float = -math.inf, end: float = math.inf) -> Totals:
    """Sum the seconds of each state, counting only the part inside [start, end)."""
    sums = {UP: 0.0, DOWN: 0.0, UNKNOWN: 0.0}
    for seg in segs:
        overlap = min(seg.end, end) - max(seg.start, start)
        if overlap > 0:
            sums[seg.state] += overlap
    return Totals(sums[UP], sums[DOWN], sums[UNKNOWN])


def day_start(moment: float) -> float:
    """Midnight UTC at or before `moment`."""
    day = datetime.fromtimestamp(moment, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def days(segs: Sequence[Segment], first_day: float, count: int) -> list[tuple[str, Totals]]:
    """Totals for `count` consecutive UTC days from midnight `first_day`, as (date, totals)."""
    out = []
    day = datetime.fromtimestamp(first_day, UTC)
    for _ in range(count):
        start = day.timestamp()
        end = (day + timedelta(days=1)).timestamp()
        out.append((day.date().isoformat(), totals(segs, start, end)))
        day += timedelta(days=1)
    return out


def year_bounds(year: int) -> tuple[float, float]:
    """Start and end of a calendar year (UTC) as Unix seconds."""
    return (
        datetime(year, 1, 1, tzinfo=UTC).timestamp(),
        datetime(year + 1, 1, 1, tzinfo=UTC).timestamp(),
    )


def iso(moment: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC string (seconds precision)."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def human_duration(seconds: float) -> str:
    """`3 h 02 min`, `4 min 05 s`, `12 s` (negative values keep their sign)."""
    sign = "-" if seconds < 0 else ""
    whole = round(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    if minutes:
        return f"{sign}{minutes} min {secs:02d} s"
    return f"{sign}{secs} s"
