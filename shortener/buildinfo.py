"""Which build is running: build-info.json at the bundle's root, else git, else unknown."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_build_info(root: Path = ROOT) -> dict[str, str]:
    """Return {"version", "commit", "built_at"}; read once at start, never per request."""
    try:
        data = json.loads((root / "build-info.json").read_text())
        return {
            "version": str(data.get("version") or "unknown"),
            "commit": str(data.get("commit") or "unknown"),
            "built_at": str(data.get("built_at") or "unknown"),
        }
    except (OSError, ValueError, AttributeError):
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return {"version": f"dev-{commit[:7]}", "commit": commit, "built_at": "unknown"}
    except (OSError, subprocess.SubprocessError):
        return {"version": "unknown", "commit": "unknown", "built_at": "unknown"}
