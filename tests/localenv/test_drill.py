"""`make drill`: both scenarios end to end on real nginx and gunicorn, and their figures."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sre.drill import run_drill
from sre.progress import Progress
from tests.support import require

pytestmark = [pytest.mark.nginx, pytest.mark.gunicorn, pytest.mark.slow]

FIGURES = {
    "name",
    "strategy",
    "total_requests",
    "failed_requests",
    "downtime_seconds",
    "detected_after_seconds",
    "restored_after_seconds",
    "version_serving_at_end",
    "by_kind",
}


def test_the_drill_shows_the_incident_and_the_guarded_path_preventing_it(tmp_path: Path) -> None:
    require.need_program("nginx")

    quiet = Progress("drill", io.StringIO())
    result = run_drill(tmp_path / "out", tmp_path / "state", quiet, steady=1.5)

    written = json.loads((tmp_path / "out" / "drill.json").read_text())
    assert written == result
    assert set(written) == {"scenarios", "generated_at", "commit"}
    as_it_happened, guarded = written["scenarios"]
    assert set(as_it_happened) == set(guarded) == FIGURES
    assert (as_it_happened["name"], as_it_happened["strategy"]) == ("as it happened", "all-at-once")
    assert (guarded["name"], guarded["strategy"]) == ("guarded", "immutable")

    assert as_it_happened["failed_requests"] > 0
    assert as_it_happened["downtime_seconds"] > 0
    assert 0 < as_it_happened["detected_after_seconds"] < as_it_happened["restored_after_seconds"]
    assert guarded["failed_requests"] == 0 and guarded["downtime_seconds"] == 0
    assert guarded["restored_after_seconds"] is None
    # The incident's shape: creates failed with 500 from version 2; no redirect did, since
    # version 2's redirect path works (its redirect failures are the swap's 502s).
    creates, redirects = as_it_happened["by_kind"]["create"], as_it_happened["by_kind"]["redirect"]
    assert creates["failed_by_status"].get("500", 0) > 0
    assert "500" not in redirects["failed_by_status"]
    assert any(v.startswith("drill-v2-") for v in redirects["ok_by_version"])
    assert not any(v.startswith("drill-v2-") for v in creates["ok_by_version"])
    assert (
        sum(k["failed"] for k in as_it_happened["by_kind"].values())
        == (as_it_happened["failed_requests"])
    )
    assert all(k["failed"] == 0 for k in guarded["by_kind"].values())
    for scenario in written["scenarios"]:
        assert scenario["version_serving_at_end"].startswith("drill-v1-")
        assert scenario["total_requests"] > 100

    markdown = (tmp_path / "out" / "drill.md").read_text()
    assert "## as it happened: all-at-once" in markdown and "## guarded: immutable" in markdown
    assert "monitor: 2 failed rounds" in markdown
    assert "version 2 never received a request" in markdown
    assert "By kind: create " in markdown
