"""The deploy log: one JSON object per line, {"time", "event", "label", ...}, appended as
each step of a deploy or rollback starts and ends, so a post-incident review can replay it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DeployLog:
    """Append timestamped events to a JSON-lines file (created with its folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, event: str, label: str | None = None, **fields: Any) -> dict[str, Any]:
        """Append one event and return it."""
        record = {"time": utc_now(), "event": event, "label": label, **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(record, default=str) + "\n")
        return record

    def read(self) -> list[dict[str, Any]]:
        """Every event so far, oldest first; a torn last line is skipped."""
        return list(read_events(self.path))


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the events of a deploy log, skipping lines that are not JSON objects."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record
