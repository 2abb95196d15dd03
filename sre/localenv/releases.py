"""Releases of the local environment: every bundle deployed, kept by its label.

`releases/<label>/app` is the unpacked bundle, `releases/<label>/release.json` says when it
was installed and from which bundle. Its venv comes from a cache keyed by the sha256 of
requirements.txt (`venvs/<sha256>/`): the same pinned requirements give the same venv, so
only a release that changes requirements.txt pays for a fresh install (20-40 s). The
pipeline's verify-bundle step still builds a clean venv for every bundle, as EB does.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sre.deploylog import utc_now
from sre.instance import InstanceError, build_venv, read_build_info, unpack

LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class Release:
    """An installed release: its unpacked bundle and the bin/ of its venv."""

    label: str
    root: Path

    @property
    def app_dir(self) -> Path:
        return self.root / "app"

    @property
    def info(self) -> dict:
        try:
            return json.loads((self.root / "release.json").read_text())
        except (OSError, ValueError):
            return {}

    @property
    def bin_dir(self) -> Path:
        return Path(self.info["bin_dir"])

    @property
    def version(self) -> str:
        """The version the bundle's build-info.json reports (its label, for our bundles)."""
        return read_build_info(self.app_dir).get("version", "")


def requirements_digest(app_dir: Path) -> str:
    """sha256 of the bundle's requirements.txt."""
    try:
        return hashlib.sha256((app_dir / "requirements.txt").read_bytes()).hexdigest()
    except OSError as exc:
        raise InstanceError("the bundle has no requirements.txt") from exc


def cached_venv(app_dir: Path, cache: Path) -> Path:
    """bin/ of the venv for this bundle's requirements.txt, building it once per digest."""
    venv = cache / requirements_digest(app_dir)
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        # Two deploys (or test sessions) needing the same venv build it once.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            build_venv(app_dir, venv)
            (venv / ".complete").write_text(utc_now() + "\n")
    return venv / "bin"


class Releases:
    """The folder of releases and the venv cache they draw on."""

    def __init__(self, root: Path, venv_cache: Path) -> None:
        self.root = root
        self.venv_cache = venv_cache

    def get(self, label: str) -> Release:
        """The installed release `label`; raise InstanceError when it was never installed."""
        release = Release(label, self.root / label)
        if not (release.root / "release.json").is_file():
            raise InstanceError(f"no release {label!r} here; deployed: {self.labels() or 'none'}")
        return release

    def labels(self) -> list[str]:
        """Installed labels, oldest first."""
        found = [Release(p.name, p) for p in self.root.glob("*") if (p / "release.json").is_file()]
        return [r.label for r in sorted(found, key=lambda r: r.info.get("installed_at", ""))]

    def install(self, bundle: Path, label: str) -> Release:
        """Unpack `bundle` as release `label` and give it a venv; labels are never reused."""
        if not LABEL_PATTERN.match(label):
            raise InstanceError(f"label {label!r} is not a valid version label")
        release = Release(label, self.root / label)
        if (release.root / "release.json").exists():
            raise InstanceError(
                f"{label} was deployed before: labels are unique; roll back to it instead"
            )
        shutil.rmtree(release.root, ignore_errors=True)
        unpack(bundle, release.app_dir)
        bin_dir = cached_venv(release.app_dir, self.venv_cache)
        record = {
            "label": label,
            "bundle": str(bundle),
            "installed_at": utc_now(),
            "bin_dir": str(bin_dir),
            "build_info": read_build_info(release.app_dir),
        }
        (release.root / "release.json").write_text(json.dumps(record, indent=2) + "\n")
        return release
