"""Visit counting off the redirect path.

A redirect only bumps a counter in memory; a background thread adds the counts to the
links table every VISIT_FLUSH_SECONDS, and once more when the worker exits. The price is
a bounded loss window: if a worker is killed outright (SIGKILL, instance lost), at most
that many seconds of its visit counts are lost. Links themselves are never at risk.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from shortener.models import Link, utcnow

log = logging.getLogger(__name__)


_AT = sa.bindparam("at", type_=Link.__table__.c.last_visited_at.type)
# One statement per flush, whatever the number of links: with visits spread over many
# links, a statement per link cost as much CPU as the redirects themselves.
_ADD_POSTGRES = sa.text(
    "UPDATE links SET visits = links.visits + v.n, last_visited_at = :at"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:ns AS bigint[])) AS v(id, n)"
    " WHERE links.id = v.id"
).bindparams(_AT)
_ADD_SQLITE = sa.text(
    "UPDATE links SET visits = visits + v.value, last_visited_at = :at"
    " FROM json_each(:counts) AS v WHERE links.id = v.key"
).bindparams(_AT)
_ADD_ONE = (
    sa.update(Link)
    .where(Link.id == sa.bindparam("link_id"))
    .values(visits=Link.visits + sa.bindparam("n"), last_visited_at=sa.bindparam("at"))
    .execution_options(synchronize_session=False)
)


def write_counts(conn: sa.Connection, counts: list[tuple[int, int]], at: datetime) -> None:
    """Add `counts` (link id, visits) to the links table, in link id order."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        ids = [link_id for link_id, _ in counts]
        ns = [n for _, n in counts]
        conn.execute(_ADD_POSTGRES, {"ids": ids, "ns": ns, "at": at})
    elif dialect == "sqlite":
        payload = json.dumps({str(link_id): n for link_id, n in counts})
        conn.execute(_ADD_SQLITE, {"counts": payload, "at": at})
    else:
        conn.execute(_ADD_ONE, [{"link_id": k, "n": n, "at": at} for k, n in counts])


class VisitCounter:
    """Per-process visit counts, flushed to the database in batches."""

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._thread_pid: int | None = None
        self._stop = threading.Event()
        self.app: Flask | None = None
        self.interval = 2.0

    def init_app(self, app: Flask) -> None:
        self.app = app
        self.interval = float(app.config["VISIT_FLUSH_SECONDS"])
        app.extensions["visits"] = self
        atexit.register(self.flush)

    def record(self, link_id: int) -> None:
        """Count one visit (no I/O)."""
        with self._lock:
            self._counts[link_id] += 1
        # gunicorn forks after the app is built: start the flusher in the process that counts.
        if self._thread_pid != os.getpid():
            self._start_thread()

    def pending(self, link_id: int) -> int:
        """Visits counted here and not written yet."""
        with self._lock:
            return self._counts.get(link_id, 0)

    def flush(self) -> int:
        """Write the pending counts; return how many visits were written."""
        with self._lock:
            batch, self._counts = self._counts, Counter()
        if not batch or self.app is None:
            return 0
        from shortener.extensions import db

        now = utcnow()
        counts = sorted(batch.items())
        try:
            with self.app.app_context(), db.engine.begin() as conn:
                write_counts(conn, counts, now)
        except Exception:  # the database is away: keep the counts for the next round
            log.warning("visit flush failed; will retry", exc_info=True)
            with self._lock:
                self._counts.update(batch)
            return 0
        return sum(batch.values())

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            self._stop = threading.Event()
        thread = threading.Thread(target=self._run, name="visit-flush", daemon=True)
        thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        self.flush()


visits = VisitCounter()
