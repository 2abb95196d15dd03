"""`make bundle`: exactly what an instance needs, under a label that is never reused."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sre import bundle as bundle_module
from sre.bundle import BundleError, build_bundle, build_info, newest_bundle
from sre.cli import main
from sre.progress import Progress
from tests.support.servers import ROOT

LABEL = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{7}(-dirty)?$")
NOT_BUNDLED = ("tests/", "sre/", "docs/", ".venv/", ".git/", "dist/", "out/", "instance/")


def quiet() -> Progress:
    return Progress("bundle", stream=io.StringIO())


def sh(cwd: Path, *argv: str) -> None:
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)


def write(root: Path, path: str, text: str = "x\n", mode: int = 0o644) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small committed git tree laid out like this project, with things that must stay out."""
    root = tmp_path / "project"
    for path in ("application.py", "requirements.txt", "Procfile", "gunicorn.conf.py"):
        write(root, path)
    for path in (
        "shortener/__init__.py",
        "shortener/migrations/versions/0001_first.py",
        "templates/base.html",
        "static/style.css",
        ".ebextensions/01-deployment.config",
        ".platform/nginx/conf.d/app.conf",
        "tests/test_app.py",
        "sre/deploy.py",
        "docs/runbook.md",
        "Makefile",
        "Jenkinsfile",
        "requirements-dev.txt",
        "shortener/retired.py",
    ):
        write(root, path)
    write(root, ".platform/hooks/postdeploy/01-check.sh", "#!/bin/sh\n", 0o755)
    write(root, ".gitignore", ".venv/\ninstance/\n__pycache__/\n")
    sh(root, "git", "init", "-q")
    sh(root, "git", "add", ".")
    sh(root, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "1")
    # Never bundled: ignored files, and compiled files even when not ignored.
    write(root, ".venv/bin/python")
    write(root, "instance/shortener.db")
    write(root, "shortener/__pycache__/x.cpython-311.pyc")
    write(root, "shortener/stale.pyc")
    return root


def names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


def test_a_clean_tree_is_bundled_with_exactly_the_instance_files(project: Path, tmp_path) -> None:
    (project / "shortener/stale.pyc").unlink()
    (project / "shortener/__pycache__/x.cpython-311.pyc").unlink()
    bundle = build_bundle(project, tmp_path / "dist", progress=quiet())

    assert names(bundle) == {
        "application.py",
        "requirements.txt",
        "Procfile",
        "gunicorn.conf.py",
        "shortener/__init__.py",
        "shortener/migrations/versions/0001_first.py",
        "shortener/retired.py",
        "templates/base.html",
        "static/style.css",
        ".ebextensions/01-deployment.config",
        ".platform/nginx/conf.d/app.conf",
        ".platform/hooks/postdeploy/01-check.sh",
        "build-info.json",
    }
    info = json.loads(zipfile.ZipFile(bundle).read("build-info.json"))
    assert LABEL.match(info["version"]) and not info["dirty"]
    assert bundle.name == f"shortener-{info['version']}.zip"
    assert (tmp_path / "dist" / "LABEL").read_text().strip() == info["version"]


def test_a_dirty_tree_is_bundled_as_it_is_and_marked(project: Path, tmp_path) -> None:
    write(project, "shortener/new_module.py", "NEW = True\n")  # untracked, not ignored
    write(project, "application.py", "changed\n")  # modified, not committed
    (project / "shortener/retired.py").unlink()  # deleted, not committed

    bundle = build_bundle(project, tmp_path / "dist", progress=quiet())

    contents = names(bundle)
    assert "shortener/new_module.py" in contents
    assert "shortener/retired.py" not in contents
    assert not any(name.endswith(".pyc") or "__pycache__" in name for name in contents)
    assert zipfile.ZipFile(bundle).read("application.py") == b"changed\n"
    info = json.loads(zipfile.ZipFile(bundle).read("build-info.json"))
    assert info["dirty"] is True and info["version"].endswith("-dirty")


def test_hooks_keep_their_executable_bit(project: Path, tmp_path) -> None:
    bundle = build_bundle(project, tmp_path / "dist", progress=quiet())
    with zipfile.ZipFile(bundle) as archive:
        hook = archive.getinfo(".platform/hooks/postdeploy/01-check.sh")
        config = archive.getinfo("Procfile")
    assert stat.S_IMODE(hook.external_attr >> 16) & 0o111 == 0o111
    assert stat.S_IMODE(config.external_attr >> 16) & 0o111 == 0


def test_labels_name_the_time_and_the_commit(project: Path) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    first = build_info(project, now=datetime(2026, 12, 3, 14, 5, 9, tzinfo=UTC))
    second = build_info(project, now=datetime(2026, 12, 3, 14, 5, 10, tzinfo=UTC))

    assert first.version == f"20261203-140509-{commit[:7]}"
    assert second.version != first.version
    assert first.commit == commit
    assert first.built_at == "2026-12-03T14:05:09Z"


def test_a_label_is_never_reused(project: Path, tmp_path) -> None:
    build_bundle(project, tmp_path / "dist", label="release-1", progress=quiet())
    with pytest.raises(BundleError, match="labels must be unique"):
        build_bundle(project, tmp_path / "dist", label="release-1", progress=quiet())


@pytest.mark.parametrize("label", ["", "-starts-with-dash", "has space", "a/b", "x" * 101])
def test_an_unusable_label_is_refused(project: Path, label: str) -> None:
    with pytest.raises(BundleError, match="must be 1-100 characters"):
        build_info(project, label=label)


def test_a_tree_without_the_entry_point_cannot_be_bundled(project: Path, tmp_path) -> None:
    (project / "Procfile").unlink()
    with pytest.raises(BundleError, match="without Procfile"):
        build_bundle(project, tmp_path / "dist", progress=quiet())


def test_a_folder_outside_git_cannot_be_bundled(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="git ls-files"):
        build_bundle(tmp_path, tmp_path / "dist", progress=quiet())


def test_newest_bundle_is_the_last_built(project: Path, tmp_path) -> None:
    dist = tmp_path / "dist"
    with pytest.raises(BundleError, match="run `make bundle` first"):
        newest_bundle(dist)
    build_bundle(project, dist, label="b-first", progress=quiet())
    last = build_bundle(project, dist, label="a-second", progress=quiet())
    (dist / "deploy.zip").write_bytes(last.read_bytes())  # the EB CLI's artifact copy
    assert newest_bundle(dist) == last


def test_the_project_bundle_holds_what_an_instance_needs(tmp_path: Path) -> None:
    bundle = build_bundle(ROOT, tmp_path / "dist", progress=quiet())
    contents = names(bundle)
    on_disk = set(bundle_module.BUNDLE_FILES) | {"build-info.json"}
    for folder in bundle_module.BUNDLE_DIRS:
        for dirpath, dirnames, filenames in os.walk(ROOT / folder):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            on_disk |= {
                (Path(dirpath) / name).relative_to(ROOT).as_posix()
                for name in filenames
                if not name.endswith(".pyc")
            }
    assert contents == on_disk
    for required in (
        "application.py",
        "Procfile",
        "gunicorn.conf.py",
        "requirements.txt",
        "shortener/__init__.py",
        "shortener/migrations/env.py",
        "templates/base.html",
        "static/style.css",
        ".ebextensions/01-deployment.config",
        ".platform/nginx/conf.d/shortener.conf",
        ".platform/hooks/postdeploy/01-readyz.sh",
    ):
        assert required in contents
    assert not [name for name in contents if name.startswith(NOT_BUNDLED)]
    assert not {"Makefile", "Jenkinsfile", "requirements-dev.txt", "pyproject.toml"} & contents


def test_the_bundle_command_reports_and_fails_cleanly(tmp_path: Path, capsys) -> None:
    assert main(["bundle", "--dist", str(tmp_path), "--label", "cli-test"]) == 0
    assert (tmp_path / "shortener-cli-test.zip").is_file()
    assert "built shortener-cli-test.zip" in capsys.readouterr().out

    assert main(["bundle", "--dist", str(tmp_path), "--label", "cli-test"]) == 1
    assert "labels must be unique" in capsys.readouterr().out


def test_changes_outside_the_bundle_do_not_make_it_dirty(project: Path, tmp_path) -> None:
    write(project, "docs/runbook.md", "edited\n")
    write(project, "tests/test_new.py")
    assert build_info(project).dirty is False
    write(project, "static/new.css")
    assert build_info(project).dirty is True


def test_a_staged_rename_counts_by_its_new_name(project: Path) -> None:
    sh(project, "git", "mv", "docs/runbook.md", "docs/moved.md")
    assert build_info(project).dirty is False
    sh(project, "git", "mv", "shortener/retired.py", "shortener/renamed.py")
    assert build_info(project).dirty is True
