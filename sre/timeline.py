"""Turn the ledger's rounds into a timeline of up, down and unknown stretches.

A round vouches for the service from its start until the next round starts, but never for
longer than its own duration or 1.5 intervals, whichever is longer. Time no round vouches
for (the monitor was stopped, crashed or stalled) is unknown: never counted as up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sre.ledger import Ledger, Round

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


# A round as the timeline needs it: (started, finished, interval, ok).
RoundRow = tuple[float, float, float, bool]


def covered(
    rows: Iterable[RoundRow], start: float, end: float
) -> Iterator[tuple[float, float, bool]]:
    """Yield the stretches rounds vouch for inside [start, end), as (from, to, ok).

    `rows` must be in start order. The stretches never overlap: each stops where the next
    round starts. This is the one place the vouching rule lives; it is a plain loop over
    tuples because a year of rounds at 10 s is three million of them.
    """
    previous: RoundRow | None = None
    for row in rows:
        if previous is not None:
            p_started, p_finished, p_interval, p_ok = previous
            until = min(max(p_finished, p_started + REACH_INTERVALS * p_interval), row[0], end)
            since = max(p_started, start)
            if until > since:
                yield since, until, p_ok
        previous = row
    if previous is not None:
        p_started, p_finished, p_interval, p_ok = previous
        until = min(max(p_finished, p_started + REACH_INTERVALS * p_interval), end)
        since = max(p_started, start)
        if until > since:
            yield since, until, p_ok


# The vouching rule of `covered`, in SQL: a year of rounds is three million rows, which
# SQLite sums several times faster than a Python loop can fetch them.
TOTALS_SQL = """
WITH vouched AS (
    SELECT started, ok, MIN(
        MAX(finished, started + :reach * interval),
        COALESCE(LEAD(started) OVER (ORDER BY started, ok DESC, id), :end),
        :end
    ) AS until
    FROM rounds
    WHERE started < :end
      AND started >= COALESCE((SELECT MAX(started) FROM rounds WHERE started <= :start), :start)
)
SELECT COALESCE(SUM(CASE WHEN ok THEN MAX(0.0, until - MAX(started, :start)) END), 0.0),
       COALESCE(SUM(CASE WHEN NOT ok THEN MAX(0.0, until - MAX(started, :start)) END), 0.0)
FROM vouched
"""


def ledger_totals(ledger: Ledger, start: float, end: float) -> Totals:
    """Seconds up, down and unknown in [start, end), summed inside SQLite."""
    if end <= start:
        return Totals()
    params = {"start": start, "end": end, "reach": REACH_INTERVALS}
    up, down = ledger.conn.execute(TOTALS_SQL, params).fetchone()
    return Totals(up, down, max(0.0, (end - start) - up - down))


def daily_totals(
    ledger: Ledger, first_day: float, count: int, now: float
) -> list[tuple[str, Totals]]:
    """Totals for `count` UTC days from midnight `first_day` (cut at `now`), as (date, totals)."""
    out = []
    for index in range(count):
        day = first_day + index * 86400
        date = datetime.fromtimestamp(day, UTC).date().isoformat()
        out.append((date, ledger_totals(ledger, day, min(day + 86400, now))))
    return out


def segments(rounds: Iterable[Round], start: float, end: float) -> list[Segment]:
    """Split [start, end) into merged up/down/unknown segments."""
    # Two rounds starting at once (two monitors on one ledger): the failed one wins.
    ordered = sorted(rounds, key=lambda r: (r.started, r.ok is False))
    return list(iter_segments(ordered, start, end))


def iter_segments(ordered: Iterable[Round], start: float, end: float) -> Iterator[Segment]:
    """Stream the merged segments of [start, end) from rounds already in start order."""
    rows = ((r.started, r.finished, r.interval, r.ok) for r in ordered)
    pending: Segment | None = None
    cursor = start
    for since, until, ok in covered(rows, start, end):
        pieces = [(cursor, since, UNKNOWN), (since, until, UP if ok else DOWN)]
        for seg_start, seg_end, state in pieces:
            if seg_end <= seg_start:
                continue
            if pending is not None and pending.state == state and pending.end == seg_start:
                pending = Segment(pending.start, seg_end, state)
                continue
            if pending is not None:
                yield pending
            pending = Segment(seg_start, seg_end, state)
        cursor = until
    if end > cursor:
        if pending is not None and pending.state == UNKNOWN:
            pending = Segment(pending.start, end, UNKNOWN)
        else:
            if pending is not None:
                yield pending
            pending = Segment(cursor, end, UNKNOWN)
    if pending is not None:
        yield pending


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
