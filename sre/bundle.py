"""`make bundle`: the Elastic Beanstalk source bundle, exactly what an instance needs.

Files come from git (tracked plus untracked-but-not-ignored), so a dirty tree is bundled as it
is and nothing ignored (venvs, databases, build output) can slip in.
"""

from __future__ import annotations

import argparse
import json
import re
import stat
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sre.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"

# What an instance needs, and nothing else: files by name, folders by prefix.
BUNDLE_FILES = ("application.py", "requirements.txt", "Procfile", "gunicorn.conf.py")
BUNDLE_DIRS = ("shortener/", "templates/", "static/", ".ebextensions/", ".platform/")
BUILD_INFO = "build-info.json"
BUNDLE_GLOB = "shortener-*.zip"
# The label of the bundle built last, for the pipeline's later stages (EXPECTED_VERSION).
LABEL_FILE = "LABEL"

# EB accepts up to 100 characters; keeping to these also keeps the label a safe file name.
ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can carry
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class BundleError(RuntimeError):
    """The bundle could not be built; the message says why."""


@dataclass(frozen=True)
class BuildInfo:
    """What `/version` reports for a bundle."""

    version: str
    commit: str
    built_at: str
    dirty: bool

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2) + "\n"


def git(root: Path, *args: str) -> str:
    """Run a git command in `root` and return its output; raise BundleError if it fails."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BundleError("git is not installed; the bundle is built from git's file list") from exc
    if result.returncode != 0:
        raise BundleError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def is_bundled(path: str) -> bool:
    """Whether a repository path belongs in the bundle."""
    parts = PurePosixPath(path).parts
    if "__pycache__" in parts or path.endswith((".pyc", ".pyo")):
        return False
    return path in BUNDLE_FILES or path.startswith(BUNDLE_DIRS)


def source_files(root: Path) -> list[str]:
    """The paths to bundle: tracked and untracked-not-ignored files that exist, sorted."""
    listed = git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    paths = {p for p in listed.split("\0") if p}
    # A tracked file deleted in the working tree is still listed by --cached: skip it.
    chosen = sorted(p for p in paths if is_bundled(p) and (root / p).is_file())
    missing = [name for name in BUNDLE_FILES if name not in chosen]
    if missing:
        raise BundleError(f"cannot bundle without {', '.join(missing)}")
    return chosen


def changed_bundle_files(root: Path) -> list[str]:
    """Bundled paths that differ from the commit: modified, deleted, or new and untracked."""
    entries = git(root, "status", "--porcelain", "-z", "--untracked-files=all").split("\0")
    changed, skip_next = [], False
    for entry in entries:
        if skip_next or not entry:
            skip_next = False
            continue
        status, path = entry[:2], entry[3:]
        skip_next = status[0] in "RC"  # a rename or copy is followed by its source path
        if is_bundled(path):
            changed.append(path)
    return changed


def build_info(root: Path, label: str | None = None, now: datetime | None = None) -> BuildInfo:
    """Describe this build: label `<yyyymmdd-HHMMSS>-<short sha>[-dirty]` unless given.

    Dirty means the bundle differs from the commit, so the label cannot be trusted to name
    the code; changes outside the bundled files (docs, tests) do not count.
    """
    now = now or datetime.now(UTC)
    commit = git(root, "rev-parse", "HEAD").strip()
    dirty = bool(changed_bundle_files(root))
    if label is None:
        label = f"{now:%Y%m%d-%H%M%S}-{commit[:7]}" + ("-dirty" if dirty else "")
    elif not LABEL_PATTERN.match(label):
        raise BundleError(
            f"label {label!r} must be 1-100 characters of letters, digits, '.', '_' or '-'"
        )
    built_at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    return BuildInfo(version=label, commit=commit, built_at=built_at, dirty=dirty)


def zip_entry(path: str, st_mode: int, mtime: float) -> zipfile.ZipInfo:
    """A zip entry that keeps the file's permission bits (EB needs hooks to be executable)."""
    stamp = datetime.fromtimestamp(max(mtime, ZIP_EPOCH), UTC)
    info = zipfile.ZipInfo(path, date_time=stamp.timetuple()[:6])
    info.external_attr = (stat.S_IFREG | stat.S_IMODE(st_mode)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_bundle(root: Path, files: list[str], info: BuildInfo, dest: Path) -> Path:
    """Write the zip (the files plus build-info.json) to `dest`; never overwrite one."""
    if dest.exists():
        raise BundleError(f"{dest.name} exists: labels must be unique (EB reuses a label's code)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for path in files:
            source = root / path
            st = source.stat()
            archive.writestr(zip_entry(path, st.st_mode, st.st_mtime), source.read_bytes())
        built = datetime.fromisoformat(info.built_at).timestamp()
        archive.writestr(zip_entry(BUILD_INFO, 0o644, built), info.to_json())
    partial.rename(dest)
    return dest


def build_bundle(
    root: Path = ROOT,
    dist: Path = DIST,
    label: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Build `dist/shortener-<label>.zip` from `root` and return its path."""
    progress = progress or Progress("bundle")
    with progress.step("list the files (git ls-files)"):
        files = source_files(root)
        info = build_info(root, label)
    progress.say(f"label {info.version}: {len(files)} files, commit {info.commit[:12]}")
    if info.dirty:
        progress.say("the working tree has uncommitted changes: the label says -dirty")
    with progress.step("write the zip"):
        bundle = write_bundle(root, files, info, dist / f"shortener-{info.version}.zip")
        (dist / LABEL_FILE).write_text(info.version + "\n")
    progress.say(f"{bundle} ({bundle.stat().st_size / 1024:.0f} KiB)")
    return bundle


def newest_bundle(dist: Path = DIST) -> Path:
    """The most recently built bundle in `dist`; raise BundleError when there is none."""
    bundles = sorted(dist.glob(BUNDLE_GLOB), key=lambda p: p.stat().st_mtime)
    if not bundles:
        raise BundleError(f"no {BUNDLE_GLOB} in {dist}: run `make bundle` first")
    return bundles[-1]


def run(args: argparse.Namespace) -> int:
    progress = Progress("bundle")
    try:
        bundle = build_bundle(ROOT, Path(args.dist), args.label, progress)
    except BundleError as exc:
        progress.say(f"error: {exc}")
        progress.summary("FAILED")
        return 1
    progress.summary(f"built {bundle.name}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bundle", help="build dist/shortener-<label>.zip for EB")
    parser.add_argument("--label", help="version label (default: <yyyymmdd-HHMMSS>-<sha>)")
    parser.add_argument("--dist", default=str(DIST), help="output folder (default: dist/)")
    parser.set_defaults(func=run)
