"""Requests that end in 404, limited per client: scanning for codes costs the scanner.

Every response with status 404 counts against its client's RATE_LIMIT_NOT_FOUND budget,
whoever answered it (a route, Flask's router, or a WSGI layer in front of Flask), because
the count is taken here, around the whole app, from the status line. The counters live in
the rate-limit storage (RATELIMIT_STORAGE_URI): with Redis, every worker of every instance
adds to one count per client.

A client whose misses reach the budget is remembered in this process until the window
ends; its later requests go straight to Flask (skipping the redirect fast path) and are
answered 429 there, before any lookup: they cost no database work. Each worker learns of a
block on its own, at the client's next miss there, so a scanner sees at most
budget + workers × instances - 1 answers of 404 per window (the extra ones whenever a
worker first meets it after the budget is spent), and 429 for the rest.

Legitimate traffic pays nothing that touches the network: a redirect costs a dictionary
test and a status comparison; only a miss increments a counter. If the storage fails
(Redis away), misses are not counted and nobody is refused: the limit fails open.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

from flask import Flask
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger(__name__)

# environ key set on a refused request: whole seconds until the client may ask again.
REFUSED = "shortener.miss_limited"
# Probes and monitoring always see the truth, whoever asks.
EXEMPT = frozenset({"/healthz", "/readyz", "/version", "/metrics"})
MAX_REMEMBERED = 10_000  # blocked clients kept per process; expired ones are dropped first
WARN_EVERY = 60.0  # seconds between two warnings about a failing storage


class MissLimited(TooManyRequests):
    """The client asked for too many things that do not exist."""

    description = (
        "Too many requests for links that do not exist. Please wait a minute and try again."
    )


def parse_limit(value: str) -> RateLimitItem | None:
    """RATE_LIMIT_NOT_FOUND in Flask-Limiter's notation ("60/minute"); '' or 'off': none."""
    value = value.strip()
    if value.lower() in ("", "off", "0"):
        return None
    return parse(value)


class MissLimit:
    """WSGI middleware counting 404s per client and refusing clients over the budget."""

    def __init__(self, app: Flask, wsgi_app: Callable, refuse_app: Callable) -> None:
        self.wsgi_app = wsgi_app
        self.refuse_app = refuse_app  # Flask itself, which answers a refused request 429
        config = app.config
        limit = parse_limit(config["RATE_LIMIT_NOT_FOUND"])
        assert limit is not None, "build MissLimit only when a limit is set"
        self.limit = limit
        self.expiry = limit.get_expiry()
        self.storage = storage_from_string(
            config["RATELIMIT_STORAGE_URI"], **config.get("RATELIMIT_STORAGE_OPTIONS", {})
        )
        self.prefix = config.get("RATELIMIT_KEY_PREFIX", "") or "shortener"
        self.blocked: dict[str, float] = {}
        self._warned_at = -WARN_EVERY

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        client = environ.get("REMOTE_ADDR") or "-"
        if self.blocked and client in self.blocked:
            wait = self.blocked[client] - time.time()
            if wait <= 0:
                self.blocked.pop(client, None)
            elif environ.get("PATH_INFO") not in EXEMPT:
                environ[REFUSED] = max(1, math.ceil(wait))
                return self.refuse_app(environ, start_response)

        def counting_start_response(status: str, headers: list, exc_info=None):
            if status.startswith("404"):
                self.missed(client)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, counting_start_response)

    def key(self, client: str) -> str:
        return self.limit.key_for(self.prefix, "not-found", client)

    def missed(self, client: str) -> None:
        """Count one miss of `client`; block it once the budget is spent."""
        key = self.key(client)
        try:
            count = self.storage.incr(key, self.expiry)
            if count >= self.limit.amount:
                self.block(client, self.storage.get_expiry(key))
        except Exception:  # the storage is away: fail open, and say so now and then
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                log.warning("404 rate limit not counted: the storage failed", exc_info=True)

    def block(self, client: str, until: float) -> None:
        if len(self.blocked) >= MAX_REMEMBERED:
            now = time.time()
            for other, other_until in list(self.blocked.items()):
                if other_until <= now:
                    del self.blocked[other]
            if len(self.blocked) >= MAX_REMEMBERED:
                self.blocked.clear()
        self.blocked[client] = until


def refuse_if_limited(environ: dict) -> None:
    """In Flask, before anything else: answer a request MissLimit refused with 429."""
    wait = environ.get(REFUSED)
    if wait is not None:
        raise MissLimited(retry_after=wait)
