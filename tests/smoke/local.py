"""The app on this machine for the smoke suite, when no SMOKE_BASE_URL names a deployment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ROOT


def migrate(database_url: str) -> None:
    """Apply the migrations to `database_url` with this venv's flask, as `make migrate` does."""
    subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "application", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )
