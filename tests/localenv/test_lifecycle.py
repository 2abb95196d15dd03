"""The local environment's other paths: a busy port, a stopped environment, an all-at-once
deploy that must be undone, the lock, and the commands."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from sre.cli import main
from sre.deploy import StepFailed
from sre.localenv.processes import pid_alive
from tests.localenv.conftest import Env

pytestmark = [pytest.mark.nginx, pytest.mark.gunicorn, pytest.mark.slow]


def gunicorns_of(env: Env) -> list[int]:
    """Pids of this environment's instances still alive, by the state and the release logs."""
    running = [env.target.state.serving, env.target.state.standby]
    return [r.pid for r in running if r and pid_alive(r.pid)]


def test_a_busy_port_fails_the_switch_and_leaves_no_instance_behind(
    tmp_path: Path, make_version: Callable[..., Path]
) -> None:
    env = Env(tmp_path / "busy")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", env.target.state.port))
        squatter.listen()

        outcome = env.deploy(make_version("busy"), smoke=False)

    assert not outcome.ok and outcome.exit_code == 1, outcome.text()
    assert "Address already in use" in (outcome.error or "")
    assert outcome.failed_step and outcome.failed_step.startswith("deploy")
    assert env.target.current_label() is None and gunicorns_of(env) == []


def test_a_stopped_environment_comes_back_with_the_next_deploy(
    tmp_path: Path, make_version: Callable[..., Path]
) -> None:
    env = Env(tmp_path / "stopped")
    try:
        first = env.deploy(make_version("first"), smoke=False)
        assert first.ok, first.text()
        stopped = env.target.stop()
        assert "nginx" in stopped and not env.target.nginx.running()
        assert env.target.current_label() == first.label, "the state still names it"

        second = env.deploy(make_version("second"), smoke=False)

        assert second.ok, second.text()
        assert second.previous == first.label
        assert env.target.nginx.running() and len(gunicorns_of(env)) == 1
    finally:
        env.target.stop()


def test_a_failed_all_at_once_deploy_starts_the_previous_release_again(
    tmp_path: Path, make_version: Callable[..., Path]
) -> None:
    env = Env(tmp_path / "all-at-once")
    try:
        good = env.deploy(make_version("good"), smoke=False)
        assert good.ok, good.text()
        env.target.strategy = "all-at-once"

        outcome = env.deploy(make_version("bad", "create-500"))

        assert not outcome.ok and outcome.restored, outcome.text()
        assert outcome.failed_step and outcome.failed_step.startswith("smoke suite")
        assert env.target.current_label() == good.label
        assert len(gunicorns_of(env)) == 1
        events = [e["event"] for e in env.target.log.read()]
        assert "stopped" in events, "all at once stopped the old instance first"
    finally:
        env.target.stop()


def test_two_deploys_never_run_at_once(tmp_path: Path) -> None:
    first, second = Env(tmp_path / "locked"), Env(tmp_path / "locked")
    with (
        first.target.locked(),
        pytest.raises(StepFailed, match="another deploy"),
        second.target.locked(),
    ):
        pass


def test_the_commands_status_rollback_and_stop(
    tmp_path: Path, make_version: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "cli"
    env = Env(state)
    port = str(env.target.state.port)
    common = ["--env", "local", "--state-dir", str(state), "--port", port]
    try:
        bundle = make_version("cli")
        assert main(["deploy", *common, "--bundle", str(bundle), "--skip-verify"]) == 0
        assert main(["status", *common]) == 0
        assert f"serving: {bundle.stem.removeprefix('shortener-')}" in capsys.readouterr().out
        # Nothing was deployed before: nothing to roll back to.
        assert main(["rollback", *common]) == 1
        assert "nothing served before" in capsys.readouterr().out
        assert main(["rollback", *common, "--label", "never-deployed"]) == 1
        # A label is deployed once: the same bundle again is refused, the version serving stays.
        assert main(["deploy", *common, "--bundle", str(bundle), "--skip-verify"]) == 1
        assert "labels are unique" in capsys.readouterr().out
    finally:
        assert main(["stop", *common]) == 0
    assert "nginx" in capsys.readouterr().out
    assert main(["stop", "--env", "shortener-production"]) == 2
