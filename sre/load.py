"""A steady user load on loopback: redirects of existing links and creates through the API.

Bounded and rate-limited: request i is sent at start + i/rate by one of a few threads, and
the run stops by itself after `duration` seconds or `max_requests` requests (or `stop()`).
Each request is recorded with its time, kind, status, latency, the X-App-Version that
answered and any error, so a test or the drill can count failures and see versions flip.
Every request opens a new connection, as distinct visitors do.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

VERSION_HEADER = "X-App-Version"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
TARGET_PREFIX = "https://example.com/load/"


@dataclass
class Record:
    """One request: when (seconds since the load started, and epoch), what, and how it went."""

    at: float
    wall: float
    kind: str
    status: int | None
    latency: float
    version: str | None
    error: str | None = None
    code: str | None = None
    target: str | None = None

    @property
    def ok(self) -> bool:
        if self.error or self.status is None:
            return False
        if self.kind == "create":
            return self.status == 201
        return self.status in REDIRECT_STATUSES


def request(
    base_url: str, method: str, path: str, body: dict | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request on a fresh connection: (status, headers, body); raises OSError."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {"Connection": "close", "User-Agent": "shortener-load/1", "Accept": "*/*"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except http.client.HTTPException as exc:
        raise OSError(f"{exc.__class__.__name__}: {exc}") from exc
    finally:
        conn.close()


def create_link(base_url: str, timeout: float = 5.0) -> tuple[str, str]:
    """Create a link through the API; return (code, target); raise RuntimeError if refused."""
    target = f"{TARGET_PREFIX}{secrets.token_hex(6)}"
    status, _, body = request(base_url, "POST", "/api/links", {"url": target}, timeout)
    if status != 201:
        raise RuntimeError(f"POST /api/links answered {status}: {body[:200]!r}")
    return json.loads(body)["code"], target


class Load:
    """Run the load in threads; use as a context manager or start()/join()."""

    def __init__(
        self,
        base_url: str,
        codes: list[str],
        rate: float = 20.0,
        create_share: float = 0.25,
        concurrency: int = 4,
        duration: float = 60.0,
        max_requests: int = 100_000,
        timeout: float = 5.0,
    ) -> None:
        if not codes:
            raise ValueError("redirects need at least one existing code")
        self.base_url = base_url.rstrip("/")
        self.codes = codes
        self.rate = rate
        self.create_every = max(1, round(1 / create_share)) if create_share > 0 else 0
        self.concurrency = concurrency
        self.duration = duration
        self.max_requests = max_requests
        self.timeout = timeout
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.t0 = 0.0
        self.wall0 = 0.0

    def start(self) -> Load:
        self.t0, self.wall0 = time.monotonic(), time.time()
        for n in range(self.concurrency):
            thread = threading.Thread(target=self._work, name=f"load-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> list[Record]:
        """Wait for the threads (they stop by themselves) and return the records by time."""
        for thread in self._threads:
            thread.join()
        self.records.sort(key=lambda r: r.at)
        return self.records

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                i = next(self._counter)
            due = i / self.rate
            if i >= self.max_requests or due >= self.duration:
                return
            wait = due - self.elapsed()
            if wait > 0 and self._stop.wait(wait):
                return
            kind = "create" if self.create_every and i % self.create_every == 0 else "redirect"
            record = self._one(kind, i)
            with self._lock:
                self.records.append(record)

    def _one(self, kind: str, i: int) -> Record:
        at, wall = self.elapsed(), time.time()
        target = code = None
        try:
            if kind == "create":
                target = f"{TARGET_PREFIX}{secrets.token_hex(6)}"
                status, headers, body = request(
                    self.base_url, "POST", "/api/links", {"url": target}, self.timeout
                )
                if status == 201:
                    code = json.loads(body).get("code")
            else:
                code = self.codes[i % len(self.codes)]
                status, headers, _ = request(self.base_url, "GET", f"/{code}", None, self.timeout)
        except (OSError, ValueError) as exc:
            return Record(at, wall, kind, None, self.elapsed() - at, None, str(exc), code, target)
        return Record(
            at, wall, kind, status, self.elapsed() - at, headers.get(VERSION_HEADER), None, code,
            target,
        )  # fmt: skip


def failed(records: list[Record]) -> list[Record]:
    return [r for r in records if not r.ok]


def version_runs(records: list[Record]) -> list[str]:
    """The versions that answered, in request order, with repeats collapsed: a clean deploy
    from v1 to v2 gives [v1, v2]; a flapping one [v1, v2, v1, v2]."""
    runs: list[str] = []
    for record in sorted(records, key=lambda r: r.at):
        if record.version and (not runs or runs[-1] != record.version):
            runs.append(record.version)
    return runs


def failure_windows(records: list[Record], gap: float = 1.0) -> list[tuple[float, float]]:
    """Spans (start, end) during which requests failed; failures less than `gap` seconds
    apart belong to the same span."""
    windows: list[list[float]] = []
    for record in sorted(failed(records), key=lambda r: r.at):
        end = record.at + record.latency
        if windows and record.at - windows[-1][1] <= gap:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([record.at, end])
    return [(start, end) for start, end in windows]


def summary(records: list[Record]) -> dict:
    """Totals, failures by kind and status, and the order in which versions answered."""
    by_kind: dict[str, dict[str, int]] = {}
    for record in records:
        counts = by_kind.setdefault(record.kind, {"total": 0, "failed": 0})
        counts["total"] += 1
        counts["failed"] += 0 if record.ok else 1
    statuses: dict[str, int] = {}
    for record in failed(records):
        key = str(record.status) if record.status else "no answer"
        statuses[key] = statuses.get(key, 0) + 1
    windows = failure_windows(records)
    return {
        "total_requests": len(records),
        "failed_requests": len(failed(records)),
        "by_kind": by_kind,
        "failed_by_status": statuses,
        "versions": version_runs(records),
        "failure_seconds": round(sum(end - start for start, end in windows), 3),
    }


def run(args: argparse.Namespace) -> int:
    codes = [create_link(args.url)[0] for _ in range(5)]
    load = Load(args.url, codes, rate=args.rate, duration=args.duration, concurrency=args.threads)
    load.start().join()
    print(json.dumps(summary(load.records), indent=2))
    return 0 if not failed(load.records) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "load", help="a steady load of redirects and creates against a URL; prints a summary"
    )
    parser.add_argument("--url", required=True, help="base URL (loopback)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--threads", type=int, default=4)
    parser.set_defaults(func=run)
