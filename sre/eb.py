"""An Elastic Beanstalk environment as a deploy target: thin calls of the `eb` and `aws` CLIs.

The orchestration (sre/deploy.py) decides; this module only asks and tells EB:
- the label serving: `aws elasticbeanstalk describe-environments ... VersionLabel`;
- deploy: `eb deploy ENV --label NEW --timeout MIN` (a new bundle: the artifact named in
  `.elasticbeanstalk/config.yml`) or `eb deploy ENV --version LABEL` (a label EB already has);
  the EB CLI exits 4 when the deploy fails, the environment turns red or it times out;
- healthy: `Status` Ready, `Health` Green and `VersionLabel` the one deployed;
- the URL for the smoke suite: the environment's CNAME (or `--url`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from sre.deploy import Recorder, StepFailed
from sre.deploylog import DeployLog, read_events

ROOT = Path(__file__).resolve().parents[1]
DESCRIBE = ["aws", "elasticbeanstalk", "describe-environments", "--environment-names"]


class EBEnvironment:
    """One Elastic Beanstalk environment, driven from the project folder `root`."""

    def __init__(
        self,
        name: str,
        root: Path = ROOT,
        state_dir: Path | None = None,
        timeout_minutes: int = 15,
        poll_seconds: float = 10.0,
        url: str | None = None,
        health_timeout: float | None = None,
    ) -> None:
        self.name = name
        self.root = root
        self.timeout_minutes = timeout_minutes
        self.poll_seconds = poll_seconds
        self.health_timeout = health_timeout or timeout_minutes * 60.0
        self.url = url
        self.log = DeployLog((state_dir or root / ".state" / name) / "deploy-log.jsonl")

    def run(self, argv: list[str], timeout: float | None = None) -> str:
        """Run a CLI command in the project folder; return its stdout or raise StepFailed."""
        try:
            result = subprocess.run(
                argv,
                cwd=self.root,
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout or self.timeout_minutes * 60 + 60,
            )
        except FileNotFoundError as exc:
            raise StepFailed(f"{argv[0]} is not installed (the {argv[0]} CLI is needed)") from exc
        except subprocess.TimeoutExpired as exc:
            raise StepFailed(f"`{' '.join(argv)}` did not finish in {exc.timeout:.0f}s") from exc
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()[-2000:]
            raise StepFailed(f"`{' '.join(argv)}` exited with {result.returncode}: {detail}")
        return result.stdout.strip()

    def describe(self, query: str) -> str:
        """One field of the environment, as text (`None` when EB has no value)."""
        return self.run([*DESCRIBE, self.name, "--query", query, "--output", "text"], timeout=120)

    def current_label(self) -> str | None:
        label = self.describe("Environments[0].VersionLabel")
        return None if label in ("", "None") else label

    def deploy(self, label: str, bundle: Path | None, rec: Recorder) -> None:
        if bundle is not None:
            self.stage_artifact(bundle)
            argv = ["eb", "deploy", self.name, "--label", label]
        else:
            argv = ["eb", "deploy", self.name, "--version", label]
        rec.progress.say(" ".join(argv))
        self.run([*argv, "--timeout", str(self.timeout_minutes)])

    def stage_artifact(self, bundle: Path) -> None:
        """Put `bundle` where `.elasticbeanstalk/config.yml`'s `deploy: artifact:` says."""
        config = self.root / ".elasticbeanstalk" / "config.yml"
        try:
            artifact = (yaml.safe_load(config.read_text()) or {}).get("deploy", {}).get("artifact")
        except (OSError, yaml.YAMLError, AttributeError) as exc:
            raise StepFailed(f"cannot read {config}: {exc}") from exc
        if not artifact:
            raise StepFailed(f"{config} names no deploy: artifact: for `eb deploy` to upload")
        target = self.root / artifact
        if target.resolve() != bundle.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle, target)

    def wait_healthy(self, label: str, rec: Recorder) -> None:
        deadline = time.monotonic() + self.health_timeout
        seen: tuple[str, ...] = ()
        while True:
            fields = self.describe("Environments[0].[Status,Health,VersionLabel]").split()
            status, health, serving = (*fields, "", "", "")[:3]
            if (status, health, serving) != seen:
                rec.progress.say(f"{self.name}: {status} {health} serving {serving}")
                seen = (status, health, serving)
            if status == "Ready" and serving != label:
                raise StepFailed(f"{self.name} is Ready but serves {serving}, not {label}")
            if status == "Ready" and health == "Green":
                return
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"{self.name} not Ready/Green within {self.health_timeout:.0f}s"
                    f" (last: {status} {health})"
                )
            time.sleep(self.poll_seconds)

    def base_url(self) -> str:
        if not self.url:
            cname = self.describe("Environments[0].CNAME")
            if cname in ("", "None"):
                raise StepFailed(f"{self.name} has no CNAME")
            self.url = f"http://{cname}"
        return self.url

    def smoke_env(self) -> dict[str, str]:
        token = os.environ.get("SMOKE_ADMIN_TOKEN", "")
        return {"SMOKE_ADMIN_TOKEN": token} if token else {}

    def keep(self, label: str, rec: Recorder) -> None:
        """Nothing to release: EB's Immutable policy already retired the old instances."""

    def restore(self, label: str, rec: Recorder) -> None:
        self.deploy(label, None, rec)

    def previous_label(self) -> str | None:
        """The label that served before the current one, by this folder's deploy log, else
        the application version created before the current one."""
        current = self.current_label()
        served = [
            e["label"]
            for e in read_events(self.log.path)
            if e.get("event") in ("deploy-succeeded", "rollback-succeeded", "restore-succeeded")
        ]
        for label in reversed(served):
            if label != current:
                return label
        app = self.describe("Environments[0].ApplicationName")
        versions = self.run(
            [
                "aws",
                "elasticbeanstalk",
                "describe-application-versions",
                "--application-name",
                app,
                "--query",
                "ApplicationVersions[].VersionLabel",
                "--output",
                "text",
            ],
            timeout=120,
        ).split()
        # EB lists versions newest first.
        if current in versions:
            older = versions[versions.index(current) + 1 :]
            return older[0] if older else None
        return None

    def status(self) -> str:
        state = self.describe("Environments[0].[Status,Health,VersionLabel,CNAME]")
        lines = [f"{self.name}: {state}", f"deploy log: {self.log.path}"]
        for event in self.log.read()[-15:]:
            lines.append(f"  {event['time']}  {event['event']:<18} {event.get('label') or ''}")
        return "\n".join(lines)
