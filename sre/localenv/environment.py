"""The local environment as a deploy target: nginx in front, one gunicorn per release.

Strategies, as EB's deployment policies:
- `immutable` (default): start the new instance beside the old one, wait for /readyz, run
  the smoke suite against the new instance directly, switch nginx's upstream with a graceful
  reload, and keep the old instance running until the orchestration's post-switch smoke
  passed (`keep` then drains and stops it; `restore` switches back to it). A failure before
  the switch stops the new instance: the old one never stopped serving.
- `all-at-once`: stop the old instance, start the new one in its place. Users see errors
  while nothing listens, and a broken version gets all the traffic: what EB's default
  policy did on the day of the incident. Kept for the drill.
"""

from __future__ import annotations

import fcntl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sre.deploy import Recorder, StepFailed, run_smoke
from sre.deploylog import DeployLog, utc_now
from sre.ebconfig import environment_defaults
from sre.instance import Instance, InstanceError, run_in_app
from sre.localenv.nginx import Nginx, NginxError, Upstream
from sre.localenv.processes import pid_alive, stop_group
from sre.localenv.releases import Release, Releases
from sre.localenv.state import DEFAULT_PORT, Running, State, load_secrets

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = ROOT / ".state" / "local"
DEFAULT_VENV_CACHE = ROOT / ".state" / "venvs"
STRATEGIES = ("immutable", "all-at-once")
VERSION_HEADER = "X-App-Version"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalEnvironment:
    """nginx and gunicorn instances on 127.0.0.1, with their state under `root`."""

    name = "local"

    def __init__(
        self,
        root: Path = DEFAULT_STATE_DIR,
        venv_cache: Path = DEFAULT_VENV_CACHE,
        port: int | None = None,
        database_url: str | None = None,
        strategy: str = "immutable",
        ready_timeout: float = 30.0,
        extra_env: dict[str, str] | None = None,
        smoke: Callable[[str, str, dict[str, str], Path], None] = run_smoke,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        self.root = root
        self.state_path = root / "state.json"
        self.state = State.load(self.state_path)
        # A port or database given now replaces the remembered one.
        self.state.port = port or self.state.port or DEFAULT_PORT
        self.state.database_url = (
            database_url or self.state.database_url or f"sqlite:///{root / 'shortener.sqlite3'}"
        )
        self.strategy = strategy
        self.ready_timeout = ready_timeout
        self.extra_env = extra_env or {}
        self.smoke = smoke
        self.releases = Releases(root / "releases", venv_cache)
        self.nginx = Nginx(root / "nginx", self.state.port)
        self.log = DeployLog(root / "deploy-log.jsonl")
        self.secrets = load_secrets(root / "secrets.json")

    # -- the Target interface -------------------------------------------------------------

    def current_label(self) -> str | None:
        return self.state.serving.label if self.state.serving else None

    def deploy(self, label: str, bundle: Path | None, rec: Recorder) -> None:
        if bundle is not None:
            with rec.step(f"install {label} (unpack, venv from the cache)", label):
                release = self.releases.install(bundle, label)
        else:
            release = self.releases.get(label)
        self.forget_dead_instances(rec)
        if self.strategy == "immutable":
            self.deploy_immutable(release, rec, gate=True)
        else:
            self.deploy_all_at_once(release, rec)

    def wait_healthy(self, label: str, rec: Recorder) -> None:
        expected = self.releases.get(label).version or label
        status, version = self.probe("/readyz")
        if status != 200 or version != expected:
            raise StepFailed(
                f"{self.base_url()}/readyz answered {status} from version {version!r},"
                f" expected 200 from {expected!r}"
            )

    def base_url(self) -> str:
        return self.nginx.url

    def smoke_env(self) -> dict[str, str]:
        return {"SMOKE_ADMIN_TOKEN": self.secrets["ADMIN_TOKEN"]}

    def keep(self, label: str, rec: Recorder) -> None:
        standby = self.state.standby
        if standby is None:
            return
        with rec.step(f"drain and stop {standby.label} (port {standby.port})", standby.label):
            stop_group(standby.pid)
        self.state.standby = None
        self.save()

    def restore(self, label: str, rec: Recorder) -> None:
        serving, standby = self.state.serving, self.state.standby
        if serving and serving.label == label and pid_alive(serving.pid):
            rec.progress.say(f"{label} never stopped serving")
            return
        if standby and standby.label == label and pid_alive(standby.pid):
            release = self.releases.get(label)
            self.switch(release, standby, rec)
            if serving:
                with rec.step(f"stop {serving.label} (port {serving.port})", serving.label):
                    stop_group(serving.pid)
            self.state.serving, self.state.standby = standby, None
            self.save()
            return
        # The previous instance is gone (all-at-once stopped it): start it again, beside
        # whatever serves now, with the same gates as any immutable deploy except the smoke
        # suite, which the orchestration runs right after.
        self.deploy_immutable(self.releases.get(label), rec, gate=False)
        self.keep(label, rec)

    def previous_label(self) -> str | None:
        current = self.current_label()
        for entry in reversed(self.state.history):
            if entry["label"] != current:
                return entry["label"]
        return None

    def status(self) -> str:
        lines = [f"local environment: {self.base_url()} (state in {self.root})"]
        nginx = "running" if self.nginx.running() else "stopped"
        lines.append(f"nginx: {nginx}, database: {self.state.database_url}")
        for role, running in (("serving", self.state.serving), ("standby", self.state.standby)):
            if running:
                alive = "up" if pid_alive(running.pid) else "DOWN"
                lines.append(
                    f"{role}: {running.label} on port {running.port} (pid {running.pid},"
                    f" {alive}) since {running.since}"
                )
        if not self.state.serving:
            lines.append("serving: nothing deployed yet")
        lines.append("releases (installed):")
        for label in self.releases.labels():
            release = self.releases.get(label)
            lines.append(f"  {label:<40} {release.info.get('installed_at', '')}")
        lines.append("switches (newest last):")
        for entry in self.state.history[-10:]:
            lines.append(f"  {entry['since']}  {entry['label']:<40} {entry.get('how', '')}")
        lines.append(f"deploy log: {self.log.path}")
        for event in self.log.read()[-12:]:
            step = event.get("step") or ""
            lines.append(f"  {event['time']}  {event['event']:<18} {event.get('label')} {step}")
        return "\n".join(lines)

    # -- strategies ---------------------------------------------------------------------

    def deploy_immutable(self, release: Release, rec: Recorder, gate: bool) -> None:
        """New instance beside the old; switch only once it is ready (and, with `gate`,
        passed the smoke suite); the old one stays up as standby until `keep`."""
        label = release.label
        self.migrate(release, rec)
        instance = self.instance(release, free_port())
        try:
            with rec.step(f"start {label} beside the serving instance", label):
                instance.start()
            with rec.step(f"wait for {label}'s /readyz (up to {self.ready_timeout:.0f}s)", label):
                instance.wait_ready(timeout=self.ready_timeout)
            if gate:
                with rec.step(f"smoke suite against {label} directly ({instance.url})", label):
                    self.smoke(
                        instance.url,
                        release.version or label,
                        self.smoke_env(),
                        self.root / "smoke" / f"{label}.xml",
                    )
            new = self.running(release, instance)
            self.switch(release, new, rec)
        except BaseException:  # an interrupted deploy must not leave an orphan instance
            with rec.step(f"stop {label}: it never receives traffic", label):
                instance.stop()
            raise
        self.state.standby, self.state.serving = self.state.serving, new
        self.save()

    def deploy_all_at_once(self, release: Release, rec: Recorder) -> None:
        """Stop the serving instance, then start the new one on its port."""
        label = release.label
        old = self.state.serving
        port = old.port if old else free_port()
        if old:
            with rec.step(f"stop {old.label} (all at once)", old.label):
                stop_group(old.pid)
            rec.event("stopped", old.label, port=old.port)
        self.migrate(release, rec)
        instance = self.instance(release, port)
        with rec.step(f"start {label} in its place", label):
            instance.start()
        new = self.running(release, instance)
        self.state.serving = new
        self.save()
        with rec.step(f"wait for {label}'s /readyz (up to {self.ready_timeout:.0f}s)", label):
            instance.wait_ready(timeout=self.ready_timeout)
        self.switch(release, new, rec)

    # -- pieces -------------------------------------------------------------------------

    def instance_env(self, release: Release) -> dict[str, str]:
        """What EB would give an instance, plus this environment's database and secrets."""
        return {
            **environment_defaults(release.app_dir),
            "DATABASE_URL": self.state.database_url,
            "SECRET_KEY": self.secrets["SECRET_KEY"],
            "ADMIN_TOKEN": self.secrets["ADMIN_TOKEN"],
            "BASE_URL": self.base_url(),
            "WEB_CONCURRENCY": "2",
            # One proxy here (this nginx), where EB has two (the ALB and nginx).
            "PROXY_HOPS": "1",
            **self.extra_env,
        }

    def instance(self, release: Release, port: int) -> Instance:
        return Instance(
            release.app_dir,
            release.bin_dir,
            port,
            env=self.instance_env(release),
            log_path=release.root / f"web-{port}.log",
        )

    def running(self, release: Release, instance: Instance) -> Running:
        assert instance.proc is not None
        return Running(release.label, instance.port, instance.proc.pid, utc_now())

    def migrate(self, release: Release, rec: Recorder) -> None:
        """Apply the release's migrations first (EB's leader_only container command)."""
        with rec.step(f"migrate the database with {release.label}", release.label):
            if self.state.database_url.startswith("sqlite:///"):
                Path(self.state.database_url.removeprefix("sqlite:///")).parent.mkdir(
                    parents=True, exist_ok=True
                )
            try:
                run_in_app(
                    release.bin_dir,
                    release.app_dir,
                    ["flask", "--app", "application", "schema", "upgrade"],
                    self.instance_env(release),
                )
            except (InstanceError, subprocess.SubprocessError) as exc:
                raise StepFailed(f"the migrations failed: {exc}") from exc

    def switch(self, release: Release, target: Running, rec: Recorder) -> None:
        """Point nginx at `target` (graceful reload) and record the switch."""
        with rec.step(f"switch nginx to {release.label} (port {target.port})", release.label):
            try:
                self.nginx.serve(Upstream(target.port, release.app_dir))
            except NginxError as exc:
                raise StepFailed(str(exc)) from exc
        rec.event("switched", release.label, port=target.port, url=self.base_url())
        self.state.history.append(
            {"label": release.label, "since": utc_now(), "how": self.strategy, "port": target.port}
        )
        self.save()

    def forget_dead_instances(self, rec: Recorder) -> None:
        """Clear a standby left by an interrupted deploy, and note an instance that died."""
        standby = self.state.standby
        if standby:
            rec.event("standby-left-over", standby.label, pid=standby.pid)
            stop_group(standby.pid)
            self.state.standby = None
        if self.state.serving and not pid_alive(self.state.serving.pid):
            rec.event("serving-instance-down", self.state.serving.label)
        self.save()

    def probe(self, path: str) -> tuple[int | None, str | None]:
        """GET `path` through nginx: (status, X-App-Version), (None, None) if nothing answers."""
        try:
            with urllib.request.urlopen(self.base_url() + path, timeout=5) as response:  # noqa: S310
                return response.status, response.headers.get(VERSION_HEADER)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get(VERSION_HEADER)
        except OSError:
            return None, None

    def save(self) -> None:
        self.state.save(self.state_path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the environment's lock: two deploys never race (Jenkins' lock('eb-prod'))."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StepFailed(f"another deploy holds {self.root / '.lock'}") from exc
            yield

    def stop(self) -> list[str]:
        """Stop nginx and every instance; keep releases, database and history."""
        stopped = []
        for running in (self.state.serving, self.state.standby):
            if running and stop_group(running.pid):
                stopped.append(f"{running.label} (port {running.port})")
        if self.nginx.running():
            self.nginx.stop()
            stopped.append("nginx")
        # `serving` stays: it names the label a later deploy or rollback starts from.
        self.state.standby = None
        self.save()
        return stopped
