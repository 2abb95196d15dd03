"""What the local environment remembers between commands, under its state folder.

state.json        port, database URL, the serving instance (and the previous one while
                  a deploy is being checked), and the history of switches
secrets.json      SECRET_KEY and ADMIN_TOKEN, generated once (mode 600)
deploy-log.jsonl  every step of every deploy and rollback
releases/<label>/ each version deployed (unpacked bundle, release.json, instance logs)
nginx/            nginx.conf, nginx.pid, logs/, temp/
shortener.sqlite3 the shared database, unless a --database-url was given
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_PORT = 8080


@dataclass
class Running:
    """An instance: which label, on which port, under which pid, since when."""

    label: str
    port: int
    pid: int
    since: str


@dataclass
class State:
    """The contents of state.json."""

    port: int = DEFAULT_PORT
    database_url: str = ""
    serving: Running | None = None
    standby: Running | None = None
    history: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        return cls(
            port=int(raw.get("port", DEFAULT_PORT)),
            database_url=raw.get("database_url", ""),
            serving=Running(**raw["serving"]) if raw.get("serving") else None,
            standby=Running(**raw["standby"]) if raw.get("standby") else None,
            history=list(raw.get("history", [])),
        )

    def save(self, path: Path) -> None:
        """Write atomically, so a crash never leaves half a state file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n")
        partial.replace(path)


def load_secrets(path: Path) -> dict[str, str]:
    """SECRET_KEY and ADMIN_TOKEN for the instances, generated on first use."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    values = {"SECRET_KEY": secrets.token_urlsafe(32), "ADMIN_TOKEN": secrets.token_urlsafe(24)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(values, out)
    return values
