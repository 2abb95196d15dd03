"""`make verify-bundle`: boot a bundle exactly as Elastic Beanstalk would, then smoke it.

Unpack, clean venv from the bundle's requirements.txt, import the app, migrate a fresh
database, start the Procfile's `web` command with PORT set, wait for /readyz, run the
project's smoke suite against it, stop it. Every deploy starts with this step.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sre.bundle import DIST, BundleError, newest_bundle
from sre.ebconfig import environment_defaults
from sre.instance import (
    Instance,
    InstanceError,
    build_venv,
    read_build_info,
    run_in_app,
    unpack,
)
from sre.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"
# The bundle's EB environment sizes gunicorn for an instance of its own; this machine is
# shared, and two workers exercise the same code.
LOCAL_OVERRIDES = {"WEB_CONCURRENCY": "2"}


class BundleRejected(RuntimeError):
    """The bundle failed a step of the boot; the message names the step and shows why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_smoke(base_url: str, env: dict[str, str], junit: Path) -> None:
    """Run the project's smoke suite against `base_url`; raise with its report if it fails."""
    junit.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/smoke",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "SMOKE_BASE_URL": base_url},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-30:])
        raise BundleRejected(f"the smoke suite failed against the bundle:\n{tail}")


@contextmanager
def step(progress: Progress, name: str, failure: str) -> Iterator[None]:
    """A progress step whose errors become BundleRejected("<failure>: <detail>")."""
    try:
        with progress.step(name):
            yield
    except BundleRejected as exc:
        raise BundleRejected(f"{failure}: {exc}") from exc
    except (InstanceError, OSError, subprocess.SubprocessError) as exc:
        raise BundleRejected(f"{failure}: {exc}") from exc


def verify_bundle(
    bundle: Path,
    progress: Progress,
    ready_timeout: float = 60.0,
    junit: Path = OUT / "verify-bundle-smoke.xml",
) -> None:
    """Boot `bundle` as EB would and smoke it; raise BundleRejected naming the failed step."""
    if not bundle.is_file():
        raise BundleRejected(f"{bundle} does not exist")
    progress.say(f"verifying {bundle}")
    with tempfile.TemporaryDirectory(prefix="verify-bundle-") as tmp:
        work = Path(tmp)
        with step(progress, "unpack", "the bundle cannot be unpacked"):
            app_dir = unpack(bundle, work / "app")
            version = read_build_info(app_dir).get("version", "")
        with step(progress, "install requirements.txt into a clean venv", "install failed"):
            bin_dir = build_venv(app_dir, work / "venv")
        port = free_port()
        admin_token = secrets.token_urlsafe(24)
        env = {
            **environment_defaults(app_dir),
            **LOCAL_OVERRIDES,
            "DATABASE_URL": f"sqlite:///{work / 'verify.db'}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ADMIN_TOKEN": admin_token,
            "BASE_URL": f"http://127.0.0.1:{port}",
        }
        with step(progress, "import the app", "the app does not import"):
            run_in_app(bin_dir, app_dir, ["python", "-c", "import application"], env)
        with step(progress, "migrate a fresh database", "the migrations failed"):
            run_in_app(bin_dir, app_dir, ["flask", "--app", "application", "db", "upgrade"], env)
        instance = Instance(app_dir, bin_dir, port, env=env, log_path=work / "web.log")
        try:
            with step(progress, "start the Procfile's web command", "the app did not start"):
                instance.start()
            with step(progress, f"wait for /readyz (up to {ready_timeout:.0f}s)", "never ready"):
                instance.wait_ready(timeout=ready_timeout)
            with step(progress, "run the smoke suite", "smoke failed"):
                smoke_env = {"SMOKE_ADMIN_TOKEN": admin_token, "EXPECTED_VERSION": version}
                run_smoke(instance.url, smoke_env, junit)
        finally:
            with progress.step("stop the app"):
                instance.stop()


def run(args: argparse.Namespace) -> int:
    progress = Progress("verify-bundle")
    try:
        bundle = Path(args.bundle) if args.bundle else newest_bundle(Path(args.dist))
        verify_bundle(bundle, progress, ready_timeout=args.ready_timeout)
    except (BundleError, BundleRejected) as exc:
        progress.say(f"REJECTED: {exc}")
        progress.summary("REJECTED")
        return 1
    progress.summary(f"{bundle.name} boots as EB would and passes the smoke suite")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify-bundle", help="boot a bundle as EB would and run the smoke suite against it"
    )
    parser.add_argument("--bundle", help="the zip to verify (default: the newest in dist/)")
    parser.add_argument("--dist", default=str(DIST), help=argparse.SUPPRESS)
    parser.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds to wait for /readyz"
    )
    parser.set_defaults(func=run)
