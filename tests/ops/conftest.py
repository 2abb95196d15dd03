"""Real processes for the operations tests: the app under gunicorn with 2 workers on each
database, its JSON log, and a private PostgreSQL server that a test may stop and restart."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.databases import TEST_DATABASE_URL, scratch_postgres_database
from tests.support.require import need
from tests.support.servers import ROOT, VENV_BIN, free_port, gunicorn_app

WORKERS = 2


def flask_db_upgrade(database_url: str) -> None:
    """Migrate `database_url` the way a deploy does: `flask --app application db upgrade`."""
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "application", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "ops-tests"},
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class Served:
    """The app running under gunicorn: its base URL, its stdout and its database."""

    base_url: str
    log_path: Path
    database_url: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_lines(self) -> list[dict]:
        """Every line gunicorn and the app wrote, each parsed as JSON (fails on any other)."""
        text = self.log_path.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def requests_logged(self) -> list[dict]:
        return [line for line in self.log_lines() if line.get("event") == "request"]

    def master_pid(self) -> int:
        for line in self.log_lines():
            if line.get("message", "").startswith("Listening at:"):
                return int(line["pid"])
        raise AssertionError("gunicorn never said where it listens")

    def booted_workers(self) -> set[int]:
        """The pids of every worker gunicorn ever booted."""
        return {
            int(line["pid"])
            for line in self.log_lines()
            if line.get("message", "").startswith("Booting worker with pid")
        }


@contextmanager
def serve(
    database_url: str, log_dir: Path, *, workers: int = WORKERS, **env: str
) -> Iterator[Served]:
    """Run the Procfile's gunicorn (2 workers unless told) against a migrated `database_url`."""
    settings = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "ops-tests",
        "TEST_LOG_DIR": str(log_dir),
        "VISIT_FLUSH_SECONDS": "1",
        **env,
    }
    with gunicorn_app(settings, workers=workers) as base_url:
        port = base_url.rsplit(":", 1)[1]
        yield Served(base_url, log_dir / f"gunicorn-{port}.log", database_url)


@contextmanager
def database_of_kind(kind: str, tmp_dir: Path, migrated: bool = True) -> Iterator[str]:
    """A fresh database: a SQLite file or a scratch database on the shared PostgreSQL."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_dir / 'shortener.db'}"
        if migrated:
            flask_db_upgrade(url)
        yield url
        return
    need(bool(TEST_DATABASE_URL), "TEST_DATABASE_URL is not set (PostgreSQL tests)")
    with scratch_postgres_database() as url:
        if migrated:
            flask_db_upgrade(url)
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request, tmp_path_factory) -> Iterator[Served]:
    """The app under gunicorn with 2 workers, on SQLite and on PostgreSQL (one per module)."""
    tmp_dir = tmp_path_factory.mktemp(f"served-{request.param}")
    with database_of_kind(request.param, tmp_dir) as url, serve(url, tmp_dir) as app:
        yield app


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def postgres_binaries() -> Path:
    """The directory of Debian's PostgreSQL server programs (the newest version installed)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    need(bool(candidates), "PostgreSQL server programs (initdb, pg_ctl) are not installed")
    return candidates[-1].parent


class PrivatePostgres:
    """A PostgreSQL server of our own on a free port in a temporary directory.

    initdb refuses to run as root, so as root the server runs as the `postgres` user.
    """

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "--username=postgres",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "pg.log"),
            "-o", options,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))

    def pids(self) -> list[int]:
        """The postmaster and every process it started (read from /proc: no `ps` needed)."""
        postmaster = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # it exited meanwhile
            # The command name is in parentheses and may hold spaces: the ppid follows it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(entry.name))
        return [postmaster, *children]


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a private PostgreSQL server; stop it and remove its files afterwards."""
    bin_dir = postgres_binaries()
    if os.geteuid() == 0:
        need(shutil.which("runuser") is not None, "runuser is needed to run PostgreSQL as root")
    # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
    root = Path(tempfile.mkdtemp(prefix="shortener-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(bin_dir, root, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            for pid in server.pids():
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)  # in case a test left it frozen
            with suppress(subprocess.CalledProcessError):
                server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
