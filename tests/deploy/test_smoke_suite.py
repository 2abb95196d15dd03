"""The smoke suite reports a deployment that serves the wrong version or keeps its links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smoke.local import migrate
from tests.support.servers import ROOT, gunicorn_app

pytestmark = pytest.mark.gunicorn


def test_a_wrong_version_and_undisableable_links_fail_the_run(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'smoke.db'}"
    migrate(database_url)
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "smoke-suite-test",
        "ADMIN_TOKEN": "the-real-token",
        "TEST_LOG_DIR": str(tmp_path),
    }
    with gunicorn_app(env) as base_url:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/smoke", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env={
                **os.environ,
                "SMOKE_BASE_URL": base_url,
                "SMOKE_ADMIN_TOKEN": "not-the-token",
                "EXPECTED_VERSION": "20991231-235959-0000000",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stdout
    assert "FAILED tests/smoke/test_smoke.py::test_version_is_the_expected_one" in result.stdout
    assert "could not disable smoke links" in result.stdout
    assert "DELETE smoke-" in result.stdout
