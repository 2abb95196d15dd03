"""The guarded deploy, one orchestration for every environment.

verify the bundle (boot as EB would + smoke) -> record the label that serves -> deploy ->
wait until healthy -> smoke through the environment's URL -> keep it. On any failure after
the record step: put the recorded label back, wait, smoke again, notify, exit non-zero.

An environment is a `Target`: `sre.eb.EBEnvironment` (the `eb` and `aws` CLIs) or
`sre.localenv.environment.LocalEnvironment` (nginx and gunicorn on this machine).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from sre.deploylog import DeployLog
from sre.progress import Progress

# Exit statuses of `deploy` and `rollback`.
EXIT_OK = 0
EXIT_FAILED_RESTORED = 1  # the change failed; the previous version serves again (or never left)
EXIT_FAILED_UNRESTORED = 2  # the change failed and putting the previous version back failed too


class StepFailed(RuntimeError):
    """A deploy step failed; the message says what was seen."""


class Recorder:
    """Run named steps: progress lines for the operator, events in the deploy log."""

    def __init__(self, progress: Progress, log: DeployLog) -> None:
        self.progress = progress
        self.log = log

    @contextmanager
    def step(self, name: str, label: str | None, **fields: Any) -> Iterator[None]:
        """Time a step and log its start and outcome; exceptions propagate."""
        self.log.write("step-started", label, step=name, **fields)
        t0 = time.monotonic()
        try:
            with self.progress.step(name):
                yield
        except Exception as exc:
            self.log.write(
                "step-failed", label, step=name, seconds=_since(t0), error=str(exc)[-4000:]
            )
            raise
        self.log.write("step-succeeded", label, step=name, seconds=_since(t0))

    def event(self, event: str, label: str | None, **fields: Any) -> None:
        """Log an event that is not a step (a switch of traffic, an outcome)."""
        self.log.write(event, label, **fields)


def _since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)


class Target(Protocol):
    """An environment the orchestration can deploy to."""

    name: str
    log: DeployLog

    def current_label(self) -> str | None:
        """The label serving now, or None when nothing was ever deployed."""

    def deploy(self, label: str, bundle: Path | None, rec: Recorder) -> None:
        """Make `label` serve: a new `bundle`, or (bundle None) a label deployed before."""

    def wait_healthy(self, label: str, rec: Recorder) -> None:
        """Return once the environment is healthy and serves `label`; raise otherwise."""

    def base_url(self) -> str:
        """The URL users reach the environment at (the smoke suite's target)."""

    def smoke_env(self) -> dict[str, str]:
        """Extra environment for the smoke suite (e.g. SMOKE_ADMIN_TOKEN)."""

    def keep(self, label: str, rec: Recorder) -> None:
        """The deploy of `label` passed: release what only a rollback would have needed."""

    def restore(self, label: str, rec: Recorder) -> None:
        """Put `label` (the one recorded before the change) back in service."""

    def previous_label(self) -> str | None:
        """The label that served before the current one (what `rollback` restores)."""

    def status(self) -> str:
        """A human-readable description of what serves and what was deployed when."""


def run_smoke(base_url: str, version: str, env: dict[str, str], junit: Path) -> None:
    """Run the project's smoke suite against `base_url` expecting `version`; raise StepFailed."""
    from sre.verify import BundleRejected
    from sre.verify import run_smoke as verify_run_smoke

    try:
        verify_run_smoke(base_url, {**env, "EXPECTED_VERSION": version}, junit)
    except BundleRejected as exc:
        raise StepFailed(str(exc)) from exc


def verify_bundle(bundle: Path, progress: Progress) -> None:
    """Boot `bundle` in a clean venv as EB would and smoke it; raise StepFailed if rejected."""
    from sre.verify import BundleRejected
    from sre.verify import verify_bundle as verify

    try:
        verify(bundle, progress)
    except BundleRejected as exc:
        raise StepFailed(str(exc)) from exc


def send_notification(text: str) -> str:
    """Post `text` to $NOTIFY_WEBHOOK (sre.notify); return what happened, never raise."""
    from sre.notify import NotifyError, notify

    try:
        return "notified" if notify(text) else "not notified: NOTIFY_WEBHOOK is not set"
    except NotifyError as exc:
        return f"notification failed: {exc}"


@dataclass
class Outcome:
    """How a deploy or rollback ended; `exit_code` is the command's exit status."""

    environment: str
    action: str
    label: str
    previous: str | None
    ok: bool
    failed_step: str | None = None
    error: str | None = None
    restored: bool | None = None
    restore_error: str | None = None

    @property
    def exit_code(self) -> int:
        if self.ok:
            return EXIT_OK
        if self.restored or self.previous is None:
            return EXIT_FAILED_RESTORED
        return EXIT_FAILED_UNRESTORED

    def text(self) -> str:
        """One paragraph for the operator and the notification."""
        if self.ok:
            return f"{self.action} of {self.label} to {self.environment} succeeded."
        lines = [
            f"{self.action} of {self.label} to {self.environment} FAILED"
            f" at '{self.failed_step}': {first_line(self.error)}"
        ]
        if self.previous is None:
            lines.append("Nothing served before, so there was nothing to restore.")
        elif self.restored:
            lines.append(f"{self.previous} serves again and passed the smoke suite.")
        else:
            lines.append(
                f"Restoring {self.previous} FAILED too: {first_line(self.restore_error)}"
                " -- the environment needs a person now."
            )
        return " ".join(lines)


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "(no detail)"


Smoke = Callable[[str, str, dict[str, str], Path], None]
Verify = Callable[[Path, Progress], None]


@dataclass
class Gates:
    """Which checks run: the pipeline's path turns all on; the drill's "as it happened" none."""

    verify_bundle: bool = True
    smoke: bool = True
    restore_on_failure: bool = True


def guarded_deploy(
    target: Target,
    label: str,
    bundle: Path | None,
    progress: Progress,
    gates: Gates | None = None,
    smoke: Smoke = run_smoke,
    verify: Verify = verify_bundle,
    junit_dir: Path = Path("out"),
    action: str = "deploy",
) -> Outcome:
    """Deploy `label` (a new `bundle`, or a label deployed before) and keep it only if it works.

    Every step is logged to the target's deploy log; a failure notifies $NOTIFY_WEBHOOK.
    """
    gates = gates or Gates()
    rec = Recorder(progress, target.log)
    rec.event(f"{action}-started", label, environment=target.name, bundle=bundle and str(bundle))
    outcome = Outcome(target.name, action, label, previous=None, ok=False)
    step = "start"
    try:
        if bundle is not None and gates.verify_bundle:
            step = "verify the bundle (boot as EB would + smoke)"
            with rec.step(step, label):
                verify(bundle, progress)
        step = "record the label serving now"
        with rec.step(step, label):
            outcome.previous = target.current_label()
            progress.say(f"serving now: {outcome.previous or '(nothing)'}")
        if outcome.previous == label and bundle is None:
            raise StepFailed(f"{label} is already serving")
        step = f"deploy {label}"
        with rec.step(step, label, previous=outcome.previous):
            target.deploy(label, bundle, rec)
        step = "wait until healthy"
        with rec.step(step, label):
            target.wait_healthy(label, rec)
        if gates.smoke:
            step = f"smoke suite against {target.base_url()}"
            with rec.step(step, label):
                smoke(target.base_url(), label, target.smoke_env(), junit_dir / "deploy-smoke.xml")
        step = "keep the new version"
        with rec.step(step, label):
            target.keep(label, rec)
    except Exception as exc:
        outcome.failed_step, outcome.error = step, str(exc)
        progress.say(f"FAILED at '{step}': {exc}")
        if step.startswith("verify") or step.startswith("record") or "already serving" in str(exc):
            # Nothing was changed: the version that served still serves.
            outcome.restored = True
        elif outcome.previous is None or not gates.restore_on_failure:
            outcome.restored = False if outcome.previous is None else None
        else:
            restore(target, outcome, progress, rec, gates, smoke, junit_dir)
    else:
        outcome.ok = True
    fields = {k: v for k, v in asdict(outcome).items() if k != "label"}
    rec.event(f"{action}-{'succeeded' if outcome.ok else 'failed'}", label, **fields)
    if not outcome.ok:
        result = send_notification(outcome.text())
        rec.event("notified", label, result=result)
        progress.say(result)
    return outcome


def restore(
    target: Target,
    outcome: Outcome,
    progress: Progress,
    rec: Recorder,
    gates: Gates,
    smoke: Smoke,
    junit_dir: Path,
) -> None:
    """Put the recorded label back, wait, smoke it; record whether that worked in `outcome`."""
    previous = outcome.previous
    assert previous is not None
    rec.event("restore-started", previous, failed=outcome.label)
    step = f"restore {previous}"
    try:
        with rec.step(step, previous):
            target.restore(previous, rec)
        step = f"wait until {previous} is healthy"
        with rec.step(step, previous):
            target.wait_healthy(previous, rec)
        if gates.smoke:
            step = f"smoke suite against {previous}"
            with rec.step(step, previous):
                smoke(
                    target.base_url(), previous, target.smoke_env(), junit_dir / "restore-smoke.xml"
                )
    except Exception as exc:
        outcome.restored, outcome.restore_error = False, f"{step}: {exc}"
        rec.event("restore-failed", previous, error=str(exc)[-4000:])
        progress.say(f"RESTORE FAILED at '{step}': {exc}")
        return
    outcome.restored = True
    rec.event("restore-succeeded", previous)


def undo_label(log: DeployLog) -> tuple[str | None, str]:
    """What `rollback` without a label restores, by the deploy log: the label the last
    deploy (or rollback) replaced -- unless that one failed and already put it back, in
    which case there is nothing to undo. Returns (label or None, why)."""
    outcomes = [
        e
        for e in log.read()
        if e.get("event") in ("deploy-succeeded", "deploy-failed", "rollback-succeeded")
        or e.get("event") == "rollback-failed"
    ]
    if not outcomes:
        return None, "the deploy log records no deploy"
    last = outcomes[-1]
    if last["event"].endswith("-failed") and last.get("restored"):
        return None, f"the last {last['action']} ({last['label']}) failed and was already undone"
    previous = last.get("previous")
    if not previous:
        return None, f"nothing served before {last['label']}"
    return previous, f"{last['label']} replaced {previous}"


# -- commands -------------------------------------------------------------------------------


def bundle_version(bundle: Path) -> str:
    """The version label inside a bundle's build-info.json (its file name's, if it has none)."""
    import zipfile

    try:
        with zipfile.ZipFile(bundle) as archive:
            return json.loads(archive.read("build-info.json"))["version"]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):
        return bundle.stem.removeprefix("shortener-")


def make_target(args: Any) -> Target:
    """The environment `--env` names: `local`, or an Elastic Beanstalk environment."""
    if args.env == "local":
        from sre.localenv.environment import DEFAULT_STATE_DIR, LocalEnvironment

        return LocalEnvironment(
            root=Path(args.state_dir) if args.state_dir else DEFAULT_STATE_DIR,
            port=args.port,
            database_url=args.database_url,
            strategy=getattr(args, "strategy", "immutable"),
        )
    from sre.eb import EBEnvironment

    return EBEnvironment(args.env, timeout_minutes=args.timeout, url=args.url)


@contextmanager
def holding_lock(target: Target) -> Iterator[None]:
    locked = getattr(target, "locked", None)
    if locked is None:
        yield
        return
    with locked():
        yield


def finish(outcome: Outcome, progress: Progress) -> int:
    progress.summary("OK" if outcome.ok else f"FAILED (exit {outcome.exit_code})")
    print(outcome.text())
    return outcome.exit_code


def run_deploy(args: Any) -> int:
    from sre.bundle import BundleError, newest_bundle

    progress = Progress(f"deploy to {args.env}")
    try:
        bundle = Path(args.bundle) if args.bundle else newest_bundle()
    except BundleError as exc:
        progress.say(f"error: {exc}")
        return 1
    target = make_target(args)
    label = bundle_version(bundle)
    progress.say(f"{bundle.name}: version {label}")
    gates = Gates(verify_bundle=not args.skip_verify)
    with holding_lock(target):
        outcome = guarded_deploy(target, label, bundle, progress, gates)
    return finish(outcome, progress)


def run_rollback(args: Any) -> int:
    progress = Progress(f"rollback of {args.env}")
    target = make_target(args)
    with holding_lock(target):
        label, why = (args.label, "asked for") if args.label else undo_label(target.log)
        if not label and not args.label:
            label = target.previous_label()
            why = f"{why}; the environment's previous version is {label}" if label else why
        progress.say(f"rollback: {why}")
        if not label:
            progress.say("nothing to roll back")
            return 0 if "already undone" in why else 1
        progress.say(f"rolling back to {label}")
        outcome = guarded_deploy(target, label, None, progress, action="rollback")
    return finish(outcome, progress)


def run_status(args: Any) -> int:
    print(make_target(args).status())
    return 0


def run_stop(args: Any) -> int:
    if args.env != "local":
        print("stop only applies to the local environment", file=sys.stderr)
        return 2
    target = make_target(args)
    stopped = target.stop()  # type: ignore[attr-defined]
    print("stopped: " + (", ".join(stopped) or "nothing was running"))
    return 0


def add_env_arguments(parser: Any) -> None:
    parser.add_argument("--env", required=True, help="`local`, or an EB environment name")
    local = parser.add_argument_group("local environment")
    local.add_argument("--port", type=int, help="nginx port on 127.0.0.1 (default 8080, kept)")
    local.add_argument("--database-url", help="shared database (default: SQLite in the state)")
    local.add_argument("--state-dir", help="state folder (default .state/local)")
    eb = parser.add_argument_group("Elastic Beanstalk")
    eb.add_argument("--timeout", type=int, default=15, help="minutes for eb deploy and health")
    eb.add_argument("--url", help="URL for the smoke suite (default: http://<CNAME>)")


def register(subparsers: Any) -> None:
    deploy = subparsers.add_parser("deploy", help="guarded deploy of a bundle to an environment")
    add_env_arguments(deploy)
    deploy.add_argument("--bundle", help="the zip to deploy (default: the newest in dist/)")
    deploy.add_argument(
        "--strategy",
        choices=("immutable", "all-at-once"),
        default="immutable",
        help="local environment only; all-at-once is what EB's default did in the incident",
    )
    deploy.add_argument(
        "--skip-verify", action="store_true", help="skip booting the bundle in a clean venv first"
    )
    deploy.set_defaults(func=run_deploy)
    rollback = subparsers.add_parser("rollback", help="redeploy an earlier label, guarded")
    add_env_arguments(rollback)
    rollback.add_argument("--label", help="the label to restore (default: the previous one)")
    rollback.set_defaults(func=run_rollback)
    status = subparsers.add_parser("status", help="what serves, what was deployed when")
    add_env_arguments(status)
    status.set_defaults(func=run_status)
    stop = subparsers.add_parser("stop", help="stop the local environment's nginx and instances")
    add_env_arguments(stop)
    stop.set_defaults(func=run_stop)
