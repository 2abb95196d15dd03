"""`make drill`: replay the version-2 incident on the local environment, twice, with figures.

Version 1 is the current tree; version 2 is a copy of its bundle with the create path broken
as on the day (`json.loads` on a file object: every create answers 500). Under a steady user
load (redirects and creates), each scenario deploys version 2 to a fresh local environment:

1. "as it happened": all at once, no gate. The synthetic monitor (the SLA monitor's probe
   round) runs every second; after 2 failed rounds in a row the tool rolls back by itself.
2. "guarded": the pipeline's path. The bundle is booted in a clean venv and smoked first
   (verify-bundle), then deployed immutably behind the smoke gate: version 2 never
   receives a user's request.

Writes out/drill.json and out/drill.md (a timeline per scenario) and prints a summary.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sre.deploy import Gates, guarded_deploy
from sre.load import Load, Record, create_link, failed, failure_windows, request, summary
from sre.localenv.breakages import broken_copy
from sre.localenv.environment import DEFAULT_VENV_CACHE, ROOT, LocalEnvironment, free_port
from sre.probes import describe_failure, probe_round, round_ok
from sre.progress import Progress

OUT = ROOT / "out"
STATE = ROOT / ".state" / "drill"
# The load's single client would hit the production creation limit; users are many.
DRILL_ENV = {"RATE_LIMIT_CREATE": "100000/minute"}
MONITOR_INTERVAL = 1.0
MONITOR_THRESHOLD = 2  # failed rounds in a row before the monitor calls it an outage
STEADY_SECONDS = 3.0


def probe_once(base_url: str, admin_token: str) -> tuple[bool, str]:
    """One round of the SLA monitor's probes: (ok, what failed)."""
    results = probe_round(base_url, timeout=2.0, admin_token=admin_token)
    return round_ok(results), describe_failure(results)


class Monitor:
    """Probe every `interval` seconds in a thread; `detected` is set after `threshold`
    failed rounds in a row, and `detected_at` is when (on the load's clock)."""

    def __init__(self, base_url: str, admin_token: str, clock: Callable[[], float]) -> None:
        self.base_url, self.admin_token, self.clock = base_url, admin_token, clock
        self.detected = threading.Event()
        self.detected_at: float | None = None
        self.cause = ""
        self.rounds: list[tuple[float, bool, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        streak = 0
        while not self._stop.is_set():
            started = time.monotonic()
            ok, cause = probe_once(self.base_url, self.admin_token)
            self.rounds.append((self.clock(), ok, cause))
            streak = 0 if ok else streak + 1
            if streak >= MONITOR_THRESHOLD and not self.detected.is_set():
                self.detected_at, self.cause = self.clock(), cause
                self.detected.set()
            self._stop.wait(max(0.0, MONITOR_INTERVAL - (time.monotonic() - started)))


@dataclass
class Scenario:
    """One replay: its figures (drill.json) and its timeline (drill.md)."""

    name: str
    strategy: str
    gates: str
    records: list[Record] = field(default_factory=list)
    deploy_at: float = 0.0
    detected_at: float | None = None
    restored_at: float | None = None
    version_serving_at_end: str | None = None
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        windows = failure_windows(self.records)

        def after(t: float | None) -> float | None:
            return None if t is None else round(t - self.deploy_at, 2)

        return {
            "name": self.name,
            "strategy": self.strategy,
            "total_requests": len(self.records),
            "failed_requests": len(failed(self.records)),
            "downtime_seconds": round(sum(end - start for start, end in windows), 2),
            "detected_after_seconds": after(self.detected_at),
            "restored_after_seconds": after(self.restored_at),
            "version_serving_at_end": self.version_serving_at_end,
            "by_kind": by_kind(self.records),
        }


def by_kind(records: list[Record]) -> dict[str, dict[str, Any]]:
    """Per kind of request (create, redirect): how many, how many failed and with what
    status ("no answer" when none came), and which versions answered the others, so a
    report can say which user paths broke and which kept working."""
    kinds: dict[str, dict[str, Any]] = {}
    for record in records:
        counts = kinds.setdefault(
            record.kind, {"total": 0, "failed": 0, "failed_by_status": {}, "ok_by_version": {}}
        )
        counts["total"] += 1
        if record.ok:
            tally = counts["ok_by_version"]
            tally[record.version or "unknown"] = tally.get(record.version or "unknown", 0) + 1
        else:
            counts["failed"] += 1
            status = str(record.status) if record.status else "no answer"
            counts["failed_by_status"][status] = counts["failed_by_status"].get(status, 0) + 1
    return dict(sorted(kinds.items()))


def kinds_text(kinds: dict[str, dict[str, Any]]) -> str:
    """One line per scenario: `create 87 of 177 failed (500: 40, 502: 47), answered
    correctly by v1: 90; redirect ...`."""
    parts = []
    for kind, counts in kinds.items():
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(counts["failed_by_status"].items()))
        answered = ", ".join(f"{v}: {n}" for v, n in sorted(counts["ok_by_version"].items()))
        parts.append(
            f"{kind} {counts['failed']} of {counts['total']} failed"
            + (f" ({statuses})" if statuses else "")
            + f", answered correctly by {answered or 'none'}"
        )
    return "; ".join(parts)


class Drill:
    """Build the two versions once, then run each scenario on a fresh local environment."""

    def __init__(
        self, progress: Progress, state: Path = STATE, steady: float = STEADY_SECONDS
    ) -> None:
        self.progress = progress
        self.state = state
        self.steady = steady
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.v1_label, self.v2_label = f"drill-v1-{stamp}", f"drill-v2-{stamp}"
        self.v1 = self.v2 = Path()

    def build_versions(self, dist: Path) -> None:
        from sre.bundle import build_bundle

        with self.progress.step(f"build version 1 ({self.v1_label}) from the working tree"):
            quiet = Progress("bundle", stream=io.StringIO())
            self.v1 = build_bundle(dist=dist, label=self.v1_label, progress=quiet)
        with self.progress.step(f"make version 2 ({self.v2_label}): a copy, create path broken"):
            self.v2 = broken_copy(self.v1, "create-500", self.v2_label, dist)

    def environment(self, name: str) -> LocalEnvironment:
        root = self.state / name
        shutil.rmtree(root, ignore_errors=True)
        return LocalEnvironment(
            root=root, venv_cache=DEFAULT_VENV_CACHE, port=free_port(), extra_env=DRILL_ENV
        )

    def serve_v1(self, env: LocalEnvironment) -> None:
        with self.progress.step(f"serve version 1 on {env.base_url()}"):
            outcome = guarded_deploy(
                env, self.v1_label, self.v1, self.progress, Gates(verify_bundle=False)
            )
            if not outcome.ok:
                raise RuntimeError(f"version 1 does not deploy: {outcome.text()}")

    def start_load(self, env: LocalEnvironment) -> Load:
        codes = [create_link(env.base_url())[0] for _ in range(10)]
        load = Load(env.base_url(), codes, rate=20.0, create_share=0.25, duration=240.0)
        return load.start()

    def as_it_happened(self) -> Scenario:
        scenario = Scenario(
            "as it happened", "all-at-once", "none; the monitor alarms, the tool rolls back"
        )
        env = self.environment("as-it-happened")
        try:
            self.serve_v1(env)
            load = self.start_load(env)
            monitor = Monitor(env.base_url(), env.secrets["ADMIN_TOKEN"], load.elapsed).start()
            note = scenario.timeline.append
            note((0.0, "load starts: 20 requests/s, a quarter of them creates"))
            time.sleep(self.steady)
            scenario.deploy_at = load.elapsed()
            note((scenario.deploy_at, f"deploy {self.v2_label} all at once, no gate"))
            env.strategy = "all-at-once"
            with self.progress.step("deploy version 2 all at once (no gate)"):
                guarded_deploy(
                    env,
                    self.v2_label,
                    self.v2,
                    self.progress,
                    Gates(verify_bundle=False, smoke=False, restore_on_failure=False),
                )
            with self.progress.step("wait for the monitor to notice"):
                if not monitor.detected.wait(timeout=60):
                    raise RuntimeError("the monitor never noticed the broken version")
            scenario.detected_at = monitor.detected_at
            note((monitor.detected_at or 0.0, f"monitor: {MONITOR_THRESHOLD} failed rounds"
                  f" ({monitor.cause}); the tool rolls back"))  # fmt: skip
            env.strategy = "immutable"
            with self.progress.step(f"roll back to {self.v1_label} (automatic)"):
                outcome = guarded_deploy(
                    env, self.v1_label, None, self.progress, Gates(), action="rollback"
                )
                if not outcome.ok:
                    raise RuntimeError(f"the automatic rollback failed: {outcome.text()}")
            scenario.restored_at = self.switch_time(env, self.v1_label, load)
            note((scenario.restored_at, f"{self.v1_label} serves again"))
            time.sleep(self.steady)
            monitor.stop()
            load.stop()
            scenario.records = load.join()
            self.finish(scenario, env, load)
        finally:
            env.stop()
        return scenario

    def guarded(self) -> Scenario:
        scenario = Scenario(
            "guarded", "immutable", "verify-bundle (clean venv + smoke), smoke before the switch"
        )
        env = self.environment("guarded")
        try:
            self.serve_v1(env)
            load = self.start_load(env)
            note = scenario.timeline.append
            note((0.0, "load starts: 20 requests/s, a quarter of them creates"))
            time.sleep(self.steady)
            scenario.deploy_at = load.elapsed()
            note((scenario.deploy_at, f"deploy {self.v2_label} by the pipeline's path"))
            with self.progress.step("deploy version 2 the guarded way"):
                outcome = guarded_deploy(env, self.v2_label, self.v2, self.progress, Gates())
            rejected = [e for e in env.log.read() if e["event"] == "step-failed"]
            if outcome.ok or not rejected:
                raise RuntimeError("the guarded path let version 2 through")
            scenario.detected_at = self.event_time(rejected[0], load)
            note((scenario.detected_at, f"rejected at '{rejected[0]['step']}': version 2 never"
                  " received a request"))  # fmt: skip
            time.sleep(self.steady)
            load.stop()
            scenario.records = load.join()
            self.finish(scenario, env, load)
        finally:
            env.stop()
        return scenario

    def finish(self, scenario: Scenario, env: LocalEnvironment, load: Load) -> None:
        """Add the load's own events to the timeline and ask nginx who serves now."""
        _, headers, _ = request(env.base_url(), "GET", "/healthz")
        scenario.version_serving_at_end = headers.get("X-App-Version")
        bad = failed(scenario.records)
        note = scenario.timeline.append
        for event in env.log.read():
            if event["event"] == "switched" and self.event_time(event, load) >= 0:
                note((self.event_time(event, load), f"nginx reloaded: {event['label']} upstream"))
        broken = [r for r in bad if r.version == self.v2_label]
        if broken:
            note((broken[0].at, f"first failure answered by version 2 ({broken[0].kind}:"
                  f" {broken[0].status})"))  # fmt: skip
        if bad:
            note((bad[0].at, f"first failed request ({bad[0].kind}: {bad[0].status or 'none'})"))
            note((bad[-1].at, f"last failed request ({bad[-1].kind}: {bad[-1].status or 'none'})"))
        else:
            note((scenario.records[-1].at, "no request failed"))
        note((load.elapsed(), "load stops"))
        scenario.timeline.sort(key=lambda row: row[0])

    @staticmethod
    def event_time(event: dict, load: Load) -> float:
        """A deploy-log event's time on the load's clock."""
        wall = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
        return round(wall - load.wall0, 3)

    def switch_time(self, env: LocalEnvironment, label: str, load: Load) -> float:
        switches = [e for e in env.log.read() if e["event"] == "switched" and e["label"] == label]
        return self.event_time(switches[-1], load)


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def report(scenarios: list[Scenario]) -> dict[str, Any]:
    return {
        "scenarios": [s.figures() for s in scenarios],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "commit": git_commit(),
    }


def markdown(result: dict[str, Any], scenarios: list[Scenario]) -> str:
    lines = [
        "# Incident drill: version 2 (create path broken), replayed locally",
        "",
        f"Generated {result['generated_at']} from commit `{result['commit'][:12]}` by"
        " `make drill`. Times are seconds since the user load started.",
        "",
        "| scenario | strategy | requests | failed | downtime (s) | detected after (s)"
        " | restored after (s) | serving at end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for figures in result["scenarios"]:
        figures = {k: "–" if v is None else v for k, v in figures.items() if k != "by_kind"}
        lines.append(
            "| {name} | {strategy} | {total_requests} | {failed_requests} | {downtime_seconds}"
            " | {detected_after_seconds} | {restored_after_seconds}"
            " | {version_serving_at_end} |".format(**figures)
        )
    for scenario in scenarios:
        lines += [
            "",
            f"## {scenario.name}: {scenario.strategy}",
            "",
            f"Gates: {scenario.gates}.",
            "",
            "| t (s) | event |",
        ]
        lines.append("|---|---|")
        lines += [f"| {t:7.2f} | {what} |" for t, what in scenario.timeline]
        load = summary(scenario.records)
        lines += [
            "",
            f"Failed requests by status: {load['failed_by_status'] or 'none'}.",
            f"By kind: {kinds_text(by_kind(scenario.records))}.",
        ]
    lines += [
        "",
        "downtime: total length of the spans in which requests failed (failures less than 1 s"
        " apart form one span). detected/restored after: seconds from the start of the deploy"
        " of version 2 to the monitor's alarm (or the gate's rejection) and to version 1"
        " serving again (empty when nothing had to be restored).",
        "",
    ]
    return "\n".join(lines)


def run_drill(
    out: Path = OUT,
    state: Path = STATE,
    progress: Progress | None = None,
    steady: float = STEADY_SECONDS,
) -> dict:
    """Run both scenarios; write drill.json and drill.md into `out`; return the figures.

    `steady`: seconds of load before each deploy and after it settles."""
    progress = progress or Progress("drill")
    drill = Drill(progress, state, steady)
    with tempfile.TemporaryDirectory(prefix="drill-dist-") as dist:
        drill.build_versions(Path(dist))
        scenarios = []
        with progress.step("scenario 1: as it happened"):
            scenarios.append(drill.as_it_happened())
        with progress.step("scenario 2: guarded"):
            scenarios.append(drill.guarded())
    result = report(scenarios)
    out.mkdir(parents=True, exist_ok=True)
    (out / "drill.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "drill.md").write_text(markdown(result, scenarios))
    return result


def run(args: argparse.Namespace) -> int:
    progress = Progress("drill")
    result = run_drill(Path(args.out), Path(args.state_dir), progress)
    progress.summary("done")
    print()
    for figures in result["scenarios"]:
        restored = figures["restored_after_seconds"]
        restored_text = "nothing to restore" if restored is None else f"{restored} s"
        print(
            f"{figures['name']:<16} {figures['strategy']}\n"
            f"  requests {figures['total_requests']}, failed {figures['failed_requests']},"
            f" downtime {figures['downtime_seconds']} s,"
            f" detected after {figures['detected_after_seconds']} s,"
            f" restored after: {restored_text},"
            f" serving at end: {figures['version_serving_at_end']}\n"
            f"  by kind: {kinds_text(figures['by_kind'])}"
        )
    print(f"\nwrote {Path(args.out) / 'drill.json'} and {Path(args.out) / 'drill.md'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("drill", help="replay the version-2 incident locally")
    parser.add_argument("--out", default=str(OUT), help="where drill.json and drill.md go")
    parser.add_argument("--state-dir", default=str(STATE), help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
