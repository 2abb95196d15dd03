"""Visit counting off the redirect path.

A redirect only bumps a counter in memory; a background thread adds the counts to the
links table every VISIT_FLUSH_SECONDS, and once more when the worker exits. The price is
a bounded loss window: if a worker is killed outright (SIGKILL, instance lost), at most
that many seconds of its visit counts are lost. Links themselves are never at risk.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter

import sqlalchemy as sa
from flask import Flask

from shortener.models import Link, utcnow

log = logging.getLogger(__name__)


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

        statement = (
            sa.update(Link)
            .where(Link.id == sa.bindparam("link_id"))
            .values(visits=Link.visits + sa.bindparam("n"), last_visited_at=sa.bindparam("at"))
            .execution_options(synchronize_session=False)
        )
        now = utcnow()
        rows = [{"link_id": k, "n": n, "at": now} for k, n in sorted(batch.items())]
        try:
            with self.app.app_context(), db.engine.begin() as conn:
                conn.execute(statement, rows)
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
