"""One app instance as Elastic Beanstalk runs it: an unpacked bundle, its own venv, the
Procfile's `web` command on a port of its own."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


class InstanceError(RuntimeError):
    """An instance could not be installed, started or made ready; the message says which."""


def unpack(bundle: Path, dest: Path) -> Path:
    """Extract a source bundle into `dest` (created), as EB does into /var/app/staging."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(dest)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InstanceError(f"cannot unpack {bundle}: {exc}") from exc
    if not (dest / "Procfile").is_file():
        raise InstanceError(f"{bundle} has no Procfile at its root")
    return dest


def build_venv(app_dir: Path, venv_dir: Path | None = None, python: str = sys.executable) -> Path:
    """Create a clean venv and install the bundle's requirements.txt into it; return its bin/."""
    venv_dir = venv_dir or app_dir / ".venv"
    requirements = app_dir / "requirements.txt"
    if not requirements.is_file():
        raise InstanceError("the bundle has no requirements.txt")
    subprocess.run([python, "-m", "venv", "--clear", str(venv_dir)], check=True)
    result = subprocess.run(
        [
            str(venv_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise InstanceError("pip install -r requirements.txt failed:\n" + "\n".join(tail))
    return venv_dir / "bin"


def run_in_app(
    bin_dir: Path, app_dir: Path, argv: list[str], env: dict[str, str], timeout: float = 120
) -> None:
    """Run a command of the bundle's venv in the unpacked bundle; raise with its output."""
    full_env = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    full_env.pop("PYTHONPATH", None)  # only the bundle and its venv, as on an instance
    result = subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]],
        cwd=app_dir,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr + result.stdout).strip().splitlines()[-15:])
        raise InstanceError(f"`{' '.join(argv)}` exited with {result.returncode}:\n{tail}")


def procfile_web_command(app_dir: Path) -> list[str]:
    """The Procfile's `web:` command as an argument list."""
    for line in (app_dir / "Procfile").read_text().splitlines():
        if line.strip().startswith("web:"):
            return shlex.split(line.split(":", 1)[1])
    raise InstanceError("the Procfile has no web: process")


def read_build_info(app_dir: Path) -> dict:
    """The bundle's build-info.json, or {} when it has none."""
    try:
        return json.loads((app_dir / "build-info.json").read_text())
    except (OSError, ValueError):
        return {}


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """GET `url` and return its status, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass
class Instance:
    """A gunicorn process serving one unpacked bundle on 127.0.0.1:`port`."""

    app_dir: Path
    bin_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the Procfile's web command with PORT set, in its own process group."""
        env = {
            **os.environ,
            **self.env,
            "PORT": str(self.port),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.bin_dir.parent),
        }
        env.pop("PYTHONPATH", None)
        log_path = self.log_path or self.app_dir / "web.log"
        log = log_path.open("ab")
        self.proc = subprocess.Popen(
            procfile_web_command(self.app_dir),
            cwd=self.app_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.log_path = log_path

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float = 60.0, path: str = "/readyz") -> float:
        """Wait until `path` answers 200 and return the seconds it took; raise otherwise."""
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            if not self.alive():
                raise InstanceError(
                    f"the web process exited ({self.proc and self.proc.returncode})"
                    f" before it was ready:\n{self.log_tail()}"
                )
            last = http_status(self.url + path, timeout=2)
            if last == 200:
                return time.monotonic() - t0
            time.sleep(0.2)
        raise InstanceError(
            f"{path} did not answer 200 within {timeout:.0f}s (last: {last})\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 25.0) -> None:
        """SIGTERM (gunicorn drains in-flight requests), then SIGKILL after `timeout`."""
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
