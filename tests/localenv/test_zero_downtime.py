"""Deploys and rollbacks on a real local environment under a steady user load.

The tests of this module share one environment and run in order: a good deploy, a rollback,
then broken versions that must never receive user traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sre.deploy import Outcome, undo_label
from sre.load import Record, failed, request, version_runs
from sre.localenv.processes import pid_alive
from tests.localenv.conftest import Env

pytestmark = [pytest.mark.nginx, pytest.mark.gunicorn, pytest.mark.slow]


def under_load(env: Env, action: Callable[[], Outcome]) -> tuple[Outcome, list[Record]]:
    """Run `action` while the load runs, with a steady second before and after."""
    load = env.load().start()
    time.sleep(1.0)
    outcome = action()
    time.sleep(1.0)
    load.stop()
    return outcome, load.join()


def assert_no_failures(records: list[Record]) -> None:
    bad = failed(records)
    assert records and not bad, f"{len(bad)} of {len(records)} failed, e.g. {bad[:3]}"


def assert_created_links_resolve(env: Env, records: list[Record]) -> None:
    """Every link acknowledged during the run redirects to its target afterwards."""
    created = [r for r in records if r.kind == "create" and r.ok]
    assert created
    for record in created:
        status, headers, _ = request(env.url, "GET", f"/{record.code}")
        assert status == 302, f"/{record.code} answered {status} after the deploy"
        assert headers["Location"] == record.target


# nginx's graceful reload lets its old workers finish the requests they are already reading
# (a keep-alive connection of the load's) while new workers send new ones to the new
# upstream, so for a moment both versions answer. A clean switch is that moment and no more.
SWITCH_OVERLAP_SECONDS = 1.0


def assert_switched_once(records: list[Record], before: str, after: str) -> None:
    """Only `before` answered, then only `after`, but for the reload's overlap."""
    runs = version_runs(records)
    assert runs[0] == before and runs[-1] == after and set(runs) == {before, after}, runs
    last_before = max(r.at for r in records if r.version == before)
    first_after = min(r.at for r in records if r.version == after)
    assert last_before - first_after < SWITCH_OVERLAP_SECONDS, runs


def test_a_good_deploy_under_load_fails_no_request_and_switches_the_version_once(
    env: Env, make_version: Callable[..., Path]
) -> None:
    before = env.target.current_label()
    outcome, records = under_load(env, lambda: env.deploy(make_version("good")))

    assert outcome.ok, outcome.text()
    assert_no_failures(records)
    assert_switched_once(records, before, outcome.label)
    assert env.target.current_label() == outcome.label
    assert env.target.state.standby is None, "the old instance is drained and stopped"


def test_links_created_during_a_deploy_are_readable_afterwards(
    env: Env, make_version: Callable[..., Path]
) -> None:
    _, records = under_load(env, lambda: env.deploy(make_version("keeps-links")))

    assert_created_links_resolve(env, records)


def test_a_rollback_under_load_fails_no_request(env: Env) -> None:
    before = env.target.current_label()
    label, why = undo_label(env.target.log)
    assert label and label != before, why

    outcome, records = under_load(env, lambda: env.deploy(None, label))

    assert outcome.ok, outcome.text()
    assert outcome.action == "rollback"
    assert_no_failures(records)
    assert_switched_once(records, before, label)
    assert_created_links_resolve(env, records)


@pytest.mark.parametrize(
    "breakage",
    ["import-error", "never-ready", "create-500", "redirect-500", "smoke-fails", "migration-fails"],
)
def test_a_broken_version_never_receives_user_traffic(
    env: Env, make_version: Callable[..., Path], breakage: str
) -> None:
    serving = env.target.current_label()
    bundle = make_version(f"broken-{breakage}", breakage)

    outcome, records = under_load(env, lambda: env.deploy(bundle))

    assert not outcome.ok
    assert outcome.exit_code == 1 and outcome.restored, outcome.text()
    assert_no_failures(records)
    assert version_runs(records) == [serving], "only the serving version answered"
    assert env.target.current_label() == serving
    assert env.target.state.serving and pid_alive(env.target.state.serving.pid)
    switched = [e for e in env.target.log.read() if e["event"] == "switched"]
    assert switched[-1]["label"] == serving, "nginx was never pointed at the broken version"


def test_a_version_failing_behind_nginx_is_switched_back_to_the_kept_old_instance(
    env: Env, make_version: Callable[..., Path]
) -> None:
    serving = env.target.current_label()
    old_pid = env.target.state.serving.pid  # type: ignore[union-attr]
    bundle = make_version("proxy-only", "proxy-only")

    outcome, records = under_load(env, lambda: env.deploy(bundle))

    assert not outcome.ok and outcome.restored, outcome.text()
    assert outcome.failed_step.startswith("smoke suite against http://127.0.0.1")  # type: ignore[union-attr]
    assert env.target.current_label() == serving
    assert env.target.state.serving.pid == old_pid, "the old instance kept running"  # type: ignore[union-attr]
    # The load does not touch the broken page: its requests all succeed, on either version.
    assert_no_failures(records)
    events = [e["event"] for e in env.target.log.read()]
    assert events[-3:] == ["restore-succeeded", "deploy-failed", "notified"]


def test_nginx_serves_static_files_itself_and_applies_the_eb_upload_limit(env: Env) -> None:
    status, headers, _ = request(env.url, "GET", "/static/style.css")
    assert status == 200
    assert "X-App-Version" not in headers, "nginx answered, not the app"

    big = {"url": "https://example.com/" + "x" * (12 * 1024 * 1024)}
    status, _, body = request(env.url, "POST", "/api/links", big, timeout=20)
    assert status == 413
    assert b"nginx" in body, "nginx refused it before the app"


def test_status_names_the_serving_label_and_the_releases(env: Env) -> None:
    text = env.target.status()
    label = env.target.current_label()
    assert f"serving: {label}" in text
    assert "releases (installed):" in text
    assert "switches (newest last):" in text


def test_instances_trust_one_proxy_hop_their_nginx(env: Env) -> None:
    """EB's configuration says 2 (ALB and nginx); here only nginx is in front."""
    release = env.target.releases.get(env.target.current_label())
    assert env.target.instance_env(release)["PROXY_HOPS"] == "1"
