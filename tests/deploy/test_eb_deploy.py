"""The EB path's decisions, with `eb` and `aws` stand-ins on PATH (tests/deploy/eb_standin.py).

The environment's URL (its CNAME) is a real local environment serving the version
`eb-live-*`, so the smoke suite runs for real: it passes when the label EB reports is the
one that serves there, and fails otherwise.
"""

from __future__ import annotations

import http.server
import io
import json
import secrets
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sre.bundle import build_bundle
from sre.deploy import Gates, Outcome, guarded_deploy, undo_label
from sre.eb import EBEnvironment
from sre.localenv.breakages import broken_copy
from sre.localenv.environment import DEFAULT_VENV_CACHE, LocalEnvironment
from sre.progress import Progress
from tests.support import require
from tests.support.servers import ROOT, free_port

pytestmark = [pytest.mark.nginx, pytest.mark.gunicorn, pytest.mark.slow]

STANDIN = Path(__file__).with_name("eb_standin.py")
ENV = "shortener-test"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A local environment serving `eb-live-*`: what the stand-in's CNAME points at."""
    require.need_program("nginx")
    dist = tmp_path_factory.mktemp("eb-dist")
    label = f"eb-live-{secrets.token_hex(3)}"
    bundle = build_bundle(dist=dist, label=label, progress=Progress("t", io.StringIO()))
    local = LocalEnvironment(
        root=tmp_path_factory.mktemp("eb-live"), venv_cache=DEFAULT_VENV_CACHE, port=free_port()
    )
    outcome = guarded_deploy(
        local, label, bundle, Progress("t", io.StringIO()), Gates(verify_bundle=False, smoke=False)
    )
    assert outcome.ok, outcome.text()
    try:
        yield {
            "label": label,
            "bundle": bundle,
            "next": broken_copy(bundle, None, f"eb-next-{secrets.token_hex(3)}", dist),
            "cname": local.base_url().removeprefix("http://"),
        }
    finally:
        local.stop()


class Stand:
    """The stand-in's environment and calls, and an EBEnvironment driving it."""

    def __init__(self, tmp: Path, live: dict, monkeypatch: pytest.MonkeyPatch) -> None:
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        for tool in ("eb", "aws"):
            wrapper = bin_dir / tool
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" {tool} "$@"\n')
            wrapper.chmod(0o755)
        self.state_file, self.calls_file = tmp / "eb-state.json", tmp / "eb-calls.jsonl"
        self.state = {
            "environment": ENV,
            "label": live["label"],
            "health": "Green",
            "cname": live["cname"],
            "application": "shortener",
            "versions": [live["label"], "eb-older"],
        }
        self.save()
        self.calls_file.touch()
        monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
        monkeypatch.setenv("EB_STANDIN_STATE", str(self.state_file))
        monkeypatch.setenv("EB_STANDIN_CALLS", str(self.calls_file))
        monkeypatch.delenv("EB_STANDIN_FAIL", raising=False)
        monkeypatch.delenv("NOTIFY_WEBHOOK", raising=False)
        self.monkeypatch = monkeypatch
        project = tmp / "project"
        (project / ".elasticbeanstalk").mkdir(parents=True)
        shutil.copy(ROOT / ".elasticbeanstalk" / "config.yml", project / ".elasticbeanstalk")
        self.project = project
        self.target = EBEnvironment(
            ENV, root=project, timeout_minutes=1, poll_seconds=0.05, health_timeout=1.0
        )

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state))

    def fail(self, *steps: str) -> None:
        self.monkeypatch.setenv("EB_STANDIN_FAIL", ",".join(steps))

    def calls(self, tool: str = "eb") -> list[list[str]]:
        lines = self.calls_file.read_text().splitlines()
        return [c["argv"] for c in map(json.loads, lines) if c["tool"] == tool]

    def eb_call_records(self) -> list[dict]:
        records = map(json.loads, self.calls_file.read_text().splitlines())
        return [c for c in records if c["tool"] == "eb"]

    def serving(self) -> str:
        return json.loads(self.state_file.read_text())["label"]

    def deploy(self, bundle: Path | None, label: str, action: str = "deploy") -> Outcome:
        return guarded_deploy(
            self.target,
            label,
            bundle,
            Progress("t", io.StringIO()),
            Gates(verify_bundle=False),
            junit_dir=self.project / "out",
            action=action,
        )


@pytest.fixture
def stand(tmp_path: Path, live: dict, monkeypatch: pytest.MonkeyPatch) -> Stand:
    return Stand(tmp_path, live, monkeypatch)


def deploy_call(label: str, timeout: int = 1) -> list[str]:
    return ["deploy", ENV, "--label", label, "--timeout", str(timeout)]


def restore_call(label: str, timeout: int = 1) -> list[str]:
    return ["deploy", ENV, "--version", label, "--timeout", str(timeout)]


def test_a_good_deploy_records_the_label_deploys_waits_smokes_and_keeps_it(
    stand: Stand, live: dict
) -> None:
    stand.state.update(label="eb-older")
    stand.save()

    outcome = stand.deploy(live["bundle"], live["label"])

    assert outcome.ok and outcome.exit_code == 0, outcome.text()
    assert outcome.previous == "eb-older"
    assert stand.calls() == [deploy_call(live["label"])]
    assert stand.eb_call_records()[0]["artifact_version"] == live["label"]
    events = [e["event"] for e in stand.target.log.read()]
    assert events[0] == "deploy-started" and events[-1] == "deploy-succeeded"
    assert all("time" in e and "label" in e for e in stand.target.log.read())


@pytest.mark.parametrize("failure", ["deploy", "unhealthy", "silent-revert"])
def test_a_failed_deploy_redeploys_the_recorded_label(
    stand: Stand, live: dict, failure: str
) -> None:
    stand.fail(failure)

    outcome = stand.deploy(live["next"], live["next"].stem.removeprefix("shortener-"))

    assert not outcome.ok and outcome.restored and outcome.exit_code == 1, outcome.text()
    label = outcome.label
    assert stand.calls() == [deploy_call(label), restore_call(live["label"])]
    assert stand.serving() == live["label"]
    failed_steps = [e["step"] for e in stand.target.log.read() if e["event"] == "step-failed"]
    expected = "deploy" if failure == "deploy" else "wait until healthy"
    assert failed_steps[0].startswith(expected)


def test_a_deploy_failing_the_smoke_suite_is_rolled_back(stand: Stand, live: dict) -> None:
    # EB turns green with the new label, but the URL still serves the live version: the
    # smoke suite's version check fails, as it would for any broken user path.
    label = live["next"].stem.removeprefix("shortener-")

    outcome = stand.deploy(live["next"], label)

    assert not outcome.ok and outcome.restored, outcome.text()
    assert outcome.failed_step.startswith("smoke suite")  # type: ignore[union-attr]
    assert stand.calls() == [deploy_call(label), restore_call(live["label"])]


def test_when_the_restore_fails_too_the_exit_status_says_a_person_is_needed(
    stand: Stand, live: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[dict] = []
    webhook = start_webhook(received)
    monkeypatch.setenv("NOTIFY_WEBHOOK", webhook)
    stand.fail("deploy", "redeploy")
    label = live["next"].stem.removeprefix("shortener-")

    outcome = stand.deploy(live["next"], label)

    assert outcome.exit_code == 2 and outcome.restored is False
    assert "needs a person" in outcome.text()
    assert stand.calls() == [deploy_call(label), restore_call(live["label"])]
    assert len(received) == 1 and "FAILED" in received[0]["text"]
    events = [e["event"] for e in stand.target.log.read()]
    assert "restore-failed" in events and events[-1] == "notified"


def test_a_restore_that_stays_red_is_a_failed_restore(stand: Stand, live: dict) -> None:
    stand.fail("deploy", "unhealthy-after-restore")

    outcome = stand.deploy(live["next"], live["next"].stem.removeprefix("shortener-"))

    assert outcome.exit_code == 2
    assert "not Ready/Green" in (outcome.restore_error or "")


def test_when_the_label_cannot_be_recorded_nothing_is_deployed(stand: Stand, live: dict) -> None:
    stand.fail("describe")

    outcome = stand.deploy(live["next"], "eb-never")

    assert outcome.exit_code == 1 and outcome.failed_step == "record the label serving now"
    assert stand.calls() == []


def test_without_an_artifact_in_the_eb_config_nothing_is_uploaded(stand: Stand, live: dict) -> None:
    (stand.project / ".elasticbeanstalk" / "config.yml").write_text("global: {}\n")

    outcome = stand.deploy(live["next"], "eb-no-artifact")

    assert not outcome.ok and "deploy: artifact" in (outcome.error or "")
    assert stand.calls() == [restore_call(live["label"])]


def test_rollback_redeploys_what_the_last_deploy_replaced(stand: Stand, live: dict) -> None:
    stand.state.update(label="eb-older")
    stand.save()
    assert stand.deploy(live["bundle"], live["label"]).ok
    stand.state = json.loads(stand.state_file.read_text())

    label, why = undo_label(stand.target.log)
    assert label == "eb-older", why
    # The stand-in's URL keeps serving the live version, so the rollback's smoke fails and
    # the rollback is undone in turn: the decisions are what is tested here.
    outcome = stand.deploy(None, label, action="rollback")

    assert stand.calls()[-2:] == [restore_call("eb-older"), restore_call(live["label"])]
    assert outcome.action == "rollback" and outcome.restored


def test_after_a_failed_deploy_that_was_undone_rollback_has_nothing_to_do(
    stand: Stand, live: dict
) -> None:
    stand.fail("deploy")
    assert stand.deploy(live["next"], "eb-undone").restored

    label, why = undo_label(stand.target.log)

    assert label is None and "already undone" in why


def test_the_previous_version_comes_from_eb_when_the_log_has_none(stand: Stand) -> None:
    assert stand.target.previous_label() == "eb-older"


def start_webhook(received: list[dict]) -> str:
    """A real HTTP server on loopback that keeps the JSON bodies posted to it."""

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def test_status_shows_the_environment_and_the_deploy_log(stand: Stand, live: dict) -> None:
    stand.deploy(live["bundle"], live["label"])

    text = stand.target.status()

    assert f"{ENV}: Ready\tGreen\t{live['label']}" in text
    assert "deploy-succeeded" in text


def test_without_the_aws_cli_nothing_is_deployed(
    stand: Stand, live: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    outcome = stand.deploy(live["next"], "eb-no-cli")

    assert outcome.failed_step == "record the label serving now"
    assert "aws is not installed" in (outcome.error or "")
    assert stand.calls() == []


def test_an_environment_without_a_url_cannot_be_smoked_and_is_restored(
    stand: Stand, live: dict
) -> None:
    stand.state.update(cname="None")
    stand.save()
    label = live["next"].stem.removeprefix("shortener-")

    outcome = stand.deploy(live["next"], label)

    assert "has no CNAME" in (outcome.error or "")
    assert stand.calls() == [deploy_call(label), restore_call(live["label"])]
    assert outcome.exit_code == 2, "the restored version cannot be smoked either"
