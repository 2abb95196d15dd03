"""The redirect hot path: code → target, with a small in-process cache.

Only links found active are cached, for CACHE_TTL seconds: a new link is visible at once
on every worker, and a disabled one stops redirecting within the TTL (at once on the
worker that disabled it, which forgets it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from shortener.extensions import db
from shortener.models import Link, StoredFile

CACHE_TTL = 10.0
CACHE_SIZE = 20_000


class Resolved(NamedTuple):
    id: int
    target_url: str | None
    expires_at: datetime | None
    disabled: bool
    filename: str | None
    content_type: str | None


_QUERY = (
    sa.select(
        Link.id,
        Link.target_url,
        Link.expires_at,
        Link.disabled_at.is_not(None),
        StoredFile.filename,
        StoredFile.content_type,
    )
    .outerjoin(StoredFile, StoredFile.link_id == Link.id)
    .where(Link.code == sa.bindparam("code"))
)

_cache: OrderedDict[str, tuple[float, Resolved]] = OrderedDict()
_lock = threading.Lock()


def resolve(code: str) -> Resolved | None:
    """Look a code up (cache first); None when no link has it."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(code)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(code)
            return hit[1]
    row = db.session.execute(_QUERY, {"code": code}).first()
    if row is None:
        return None
    found = Resolved(*row)
    if not found.disabled:
        with _lock:
            _cache[code] = (now + CACHE_TTL, found)
            _cache.move_to_end(code)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return found


def forget(code: str) -> None:
    """Drop a code from this worker's cache (after it was disabled or changed)."""
    with _lock:
        _cache.pop(code, None)


def clear() -> None:
    with _lock:
        _cache.clear()
