"""gunicorn.conf.py's metrics directory: made fresh, cleaned, removed, never leaked."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.ops.conftest import database_of_kind, serve

pytestmark = [pytest.mark.gunicorn]

PREFIX = "shortener-metrics-"


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_gunicorn_makes_its_own_metrics_dir_and_removes_it(tmp_path: Path):
    temp = Path(tempfile.gettempdir())
    abandoned = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{dead_pid()}-"))
    (abandoned / "counter_1.db").write_bytes(b"")
    with database_of_kind("sqlite", tmp_path) as url, serve(url, tmp_path) as app:
        master = app.master_pid()
        (own,) = temp.glob(f"{PREFIX}{master}-*")
        assert {path.name.split("_")[0] for path in own.glob("*.db")} == {"counter", "histogram"}
        assert not abandoned.exists(), "a dead master's directory is removed at start"
    assert not own.exists()


def test_a_given_metrics_dir_is_emptied_at_start_and_kept(tmp_path: Path):
    given = tmp_path / "metrics"
    given.mkdir()
    stale = given / "counter_99999999.db"
    stale.write_bytes(b"left over from the previous run")
    with (
        database_of_kind("sqlite", tmp_path) as url,
        serve(url, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(given)) as app,
    ):
        assert not stale.exists()
        assert not list(Path(tempfile.gettempdir()).glob(f"{PREFIX}{app.master_pid()}-*"))
    assert given.is_dir()
