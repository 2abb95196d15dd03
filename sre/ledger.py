"""The monitor's ledger: every round, every probe, every incident and notification, in SQLite.

Times are Unix seconds (UTC). The ledger only grows; reports (budget, incidents, status
page, postmortem) are computed from it, so they can be recomputed at any time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL NOT NULL,
    interval REAL NOT NULL,
    ok INTEGER NOT NULL
);
-- In the timeline's order (rowid last), so summing a year needs no sort.
CREATE INDEX IF NOT EXISTS rounds_timeline ON rounds (started, ok DESC);
CREATE TABLE IF NOT EXISTS probes (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds (id),
    time REAL NOT NULL,
    check_name TEXT NOT NULL,
    ok INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    status INTEGER,
    error TEXT,
    version TEXT
);
CREATE INDEX IF NOT EXISTS probes_round ON probes (round_id);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    opened REAL NOT NULL,
    recovered REAL,
    resolved REAL,
    cause TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    ok INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
);
"""


@dataclass(frozen=True)
class Probe:
    """One check of one round: what was asked, how it went, how long it took."""

    check: str
    ok: bool
    latency_ms: float
    status: int | None = None
    error: str | None = None
    version: str | None = None
    time: float = 0.0


@dataclass(frozen=True)
class Round:
    """One monitoring round; `ok` when every check that counts passed."""

    id: int
    started: float
    finished: float
    interval: float
    ok: bool


@dataclass(frozen=True)
class Incident:
    """An outage as the monitor saw it.

    `started` is the first failed round, `opened` when enough failures confirmed it,
    `recovered` the first good round of the run that closed it, `resolved` when enough good
    rounds confirmed that. The outage lasted from `started` to `recovered`.
    """

    id: int
    started: float
    opened: float
    recovered: float | None
    resolved: float | None
    cause: str
    updated: float

    @property
    def is_open(self) -> bool:
        return self.resolved is None

    def duration(self, now: float) -> float:
        """Seconds from the first failure to recovery (or to `now` while still open)."""
        end = self.recovered if self.recovered is not None else now
        return max(0.0, end - self.started)


@dataclass(frozen=True)
class Notification:
    """One attempt (with its retries) to tell someone about an incident event."""

    time: float
    incident_id: int
    event: str
    channel: str
    target: str
    ok: bool
    attempts: int
    error: str | None


class Ledger:
    """Append-only SQLite store shared by the monitor and every report."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The status page and reports may read while the monitor writes: WAL lets them.
        self.conn = sqlite3.connect(self.path, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # No fsync per round: a power cut may lose the last rounds, which then show as
        # unknown time (never as up), and the monitor keeps pace on slow disks.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------

    def record_round(
        self, started: float, finished: float, interval: float, ok: bool, probes: Iterable[Probe]
    ) -> int:
        """Store a round and its probes; return the round's id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO rounds (started, finished, interval, ok) VALUES (?, ?, ?, ?)",
                (started, finished, interval, int(ok)),
            )
            round_id = int(cur.lastrowid or 0)
            self.conn.executemany(
                "INSERT INTO probes (round_id, time, check_name, ok, latency_ms, status, error,"
                " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        round_id,
                        p.time or started,
                        p.check,
                        int(p.ok),
                        p.latency_ms,
                        p.status,
                        p.error,
                        p.version,
                    )
                    for p in probes
                ],
            )
        return round_id

    def open_incident(self, started: float, opened: float, cause: str) -> Incident:
        """Store a newly confirmed incident."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO incidents (started, opened, cause, updated) VALUES (?, ?, ?, ?)",
                (started, opened, cause, opened),
            )
        return self.incident(int(cur.lastrowid or 0))

    def update_incident(self, incident_id: int, cause: str, updated: float) -> Incident:
        """Record a new cause (or a periodic update) for an open incident."""
        with self.conn:
            self.conn.execute(
                "UPDATE incidents SET cause = ?, updated = ? WHERE id = ?",
                (cause, updated, incident_id),
            )
        return self.incident(incident_id)

    def resolve_incident(self, incident_id: int, recovered: float, resolved: float) -> Incident:
        """Close an incident: service back since `recovered`, confirmed at `resolved`."""
        with self.conn:
            self.conn.execute(
                "UPDATE incidents SET recovered = ?, resolved = ?, updated = ? WHERE id = ?",
                (recovered, resolved, resolved, incident_id),
            )
        return self.incident(incident_id)

    def record_notification(self, notification: Notification) -> None:
        n = notification
        with self.conn:
            self.conn.execute(
                "INSERT INTO notifications (time, incident_id, event, channel, target, ok,"
                " attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    n.time,
                    n.incident_id,
                    n.event,
                    n.channel,
                    n.target,
                    int(n.ok),
                    n.attempts,
                    n.error,
                ),
            )

    # -- reading ---------------------------------------------------------------------

    def iter_rounds(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[Round]:
        """Rounds in start order, streamed; `since`/`until` bound their start times.

        The last round before `since` is included: it covers the time up to the next one.
        Rounds starting together come good ones first, so a failed one has the last word.
        """
        lower = float("-inf") if since is None else since
        upper = float("inf") if until is None else until
        rows = self.conn.execute(
            "SELECT id, started, finished, interval, ok FROM rounds WHERE started < ? AND"
            " started >= COALESCE((SELECT MAX(started) FROM rounds WHERE started <= ?), ?)"
            " ORDER BY started, ok DESC, id",
            (upper, lower, lower),
        )
        for row in rows:
            yield Round(row[0], row[1], row[2], row[3], bool(row[4]))

    def rounds(self, since: float | None = None, until: float | None = None) -> list[Round]:
        """Rounds in start order (see `iter_rounds`)."""
        return list(self.iter_rounds(since, until))

    def probes(self, round_ids: Iterable[int]) -> dict[int, list[Probe]]:
        """The probes of the given rounds, by round id."""
        ids = set(round_ids)
        found: dict[int, list[Probe]] = {i: [] for i in ids}
        if not ids:
            return found
        rows = self.conn.execute(
            "SELECT round_id, check_name, ok, latency_ms, status, error, version, time"
            " FROM probes WHERE round_id BETWEEN ? AND ? ORDER BY id",
            (min(ids), max(ids)),
        )
        for row in rows:
            if row[0] in found:
                found[row[0]].append(
                    Probe(row[1], bool(row[2]), row[3], row[4], row[5], row[6], row[7])
                )
        return found

    def incident(self, incident_id: int) -> Incident:
        row = self.conn.execute(
            "SELECT id, started, opened, recovered, resolved, cause, updated FROM incidents"
            " WHERE id = ?",
            (incident_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no incident {incident_id} in {self.path}")
        return Incident(*row)

    def incidents(self) -> list[Incident]:
        """Every incident, oldest first."""
        rows = self.conn.execute(
            "SELECT id, started, opened, recovered, resolved, cause, updated FROM incidents"
            " ORDER BY started, id"
        ).fetchall()
        return [Incident(*row) for row in rows]

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents() if i.is_open]

    def notifications(self, incident_id: int | None = None) -> list[Notification]:
        query = (
            "SELECT time, incident_id, event, channel, target, ok, attempts, error"
            " FROM notifications"
        )
        params: tuple[int, ...] = ()
        if incident_id is not None:
            query += " WHERE incident_id = ?"
            params = (incident_id,)
        rows = self.conn.execute(query + " ORDER BY time, id", params).fetchall()
        return [Notification(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]

    def latest_version(self) -> str | None:
        """The `X-App-Version` the service answered with most recently."""
        row = self.conn.execute(
            "SELECT version FROM probes WHERE version IS NOT NULL ORDER BY time DESC, id DESC"
            " LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def first_round_start(self) -> float | None:
        row = self.conn.execute("SELECT MIN(started) FROM rounds").fetchone()
        return row[0]


def open_existing(path: str | Path) -> Ledger:
    """Open the ledger at `path`, refusing to create one where none exists."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no ledger at {path} (start the monitor with --ledger {path})")
    return Ledger(path)
