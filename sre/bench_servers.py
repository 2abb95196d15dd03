"""The servers a benchmark runs: gunicorn apps as the Procfile starts them, a minimal Flask
app for the framework floor, and one nginx in front of them all, on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shortener import config
from sre.bench_wrk import find_tool
from sre.instance import procfile_web_command

APP_ENV = {
    "APP_ENV": "production",
    "BASE_URL": "https://sho.rt",
    # Creation is measured, not the rate limiter's refusal: the limiter stays on, raised.
    "RATE_LIMIT_CREATE": "1000000/minute",
    # Likewise a miss (404) is measured with its count taken, never refused with a 429.
    "RATE_LIMIT_NOT_FOUND": "1000000/minute",
}

FLOOR_APP = '''\
"""The framework floor: the least a Flask app can do to answer a redirect."""

from flask import Flask, redirect

app = Flask(__name__)


@app.get("/<code>")
def follow(code):
    return redirect("https://example.com/articles/1?utm_source=short", 302)
'''

STACK_APP = '''\
"""The stack's floor: the libraries every worker of ours needs (Flask, Flask-SQLAlchemy and
the database driver under our gunicorn settings) and one ORM-session SELECT a request, so a
run shows how much of a worker's memory the libraries take before any code of ours."""

import os

import sqlalchemy as sa
from flask import Flask, abort, redirect
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Link(db.Model):
    __tablename__ = "links"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    target_url: Mapped[str | None] = mapped_column(sa.Text)


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db.init_app(app)


@app.get("/<code>")
def follow(code):
    url = db.session.execute(sa.select(Link.target_url).where(Link.code == code)).scalar()
    if url is None:
        abort(404)
    return redirect(url, 302)
'''

NGINX_CONF = """\
%(user)s
worker_processes auto;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    keepalive_requests 1000000;
%(upstreams)s
    server {
        listen 127.0.0.1:%(fixed_port)d;
        location / { return 302 https://example.com/articles/1?utm_source=short; }
    }
%(servers)s
}
"""

UPSTREAM = """\
    upstream %(name)s {
        server 127.0.0.1:%(port)d;
        keepalive 32;
    }
"""

PROXY_SERVER = """\
    server {
        listen 127.0.0.1:%(listen)d;
        location / {
            proxy_pass http://%(name)s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
"""


class ServerError(RuntimeError):
    """A server did not start or did not answer; the message has its log's tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int | None, dict[str, str]]:
    """GET without following redirects; return the status and headers (None when down)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)
    except OSError:
        return None, {}


def _stop_group(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size of a process, in MB: its private pages plus its share of the
    pages it shares (with its master and the other workers). Reported next to RSS, which
    counts every shared page in full for each worker; the target is stated in RSS."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Direct children of `pid` (gunicorn's workers, nginx's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == pid:
                        found.append(int(entry.name))
                    break
        except OSError:
            continue
    return found


def workers_rss_mb(proc: subprocess.Popen | None) -> list[float]:
    """VmRSS of each worker of a running master now (the master is not counted)."""
    if proc is None or proc.poll() is not None:
        return []
    return [rss_mb(pid) for pid in children(proc.pid)]


def workers_pss_mb(proc: subprocess.Popen | None) -> list[float]:
    """PSS of each worker of a running master now (see pss_mb)."""
    if proc is None or proc.poll() is not None:
        return []
    return [pss_mb(pid) for pid in children(proc.pid)]


def workers_cpu_seconds(proc: subprocess.Popen | None) -> float:
    """CPU time a master's workers have used so far (their share of each request's cost)."""
    if proc is None or proc.poll() is not None:
        return 0.0
    total = 0.0
    for pid in children(proc.pid):
        try:
            total += cpu_seconds(pid)
        except OSError:  # a worker that exited between the listing and the read
            continue
    return total


@dataclass
class Gunicorn:
    """One app under gunicorn, started with the Procfile's command and gunicorn.conf.py."""

    name: str
    cwd: Path
    env: dict[str, str]
    log_dir: Path
    command: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/healthz", status: int = 200, timeout: float = 60.0) -> None:
        """Start it on a free port and wait until `ready_path` answers `status`."""
        self.port = free_port()
        venv_bin = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            **self.env,
            "PORT": str(self.port),
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{self.name}.log"
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited at start:\n{self.log_tail()}")
            if http_get(self.url + ready_path)[0] == status:
                return
            time.sleep(0.2)
        raise ServerError(
            f"{self.name} did not answer {ready_path} with {status}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 25) -> str:
        path = self.log_dir / f"{self.name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def worker_rss_mb(self) -> list[float]:
        return workers_rss_mb(self.proc)

    def worker_pss_mb(self) -> list[float]:
        return workers_pss_mb(self.proc)

    def workers_cpu_seconds(self) -> float:
        return workers_cpu_seconds(self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)


def app_env(database_url: str) -> dict[str, str]:
    """The environment our app runs with in the benchmark, on `database_url`."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret-key",
        "ADMIN_TOKEN": "bench-admin-token",
        **APP_ENV,
    }


def app_server(name: str, root: Path, database_url: str, log_dir: Path) -> Gunicorn:
    """Our app, exactly as the Procfile starts it, on `database_url`."""
    return Gunicorn(name, root, app_env(database_url), log_dir, command=procfile_web_command(root))


def floor_server(root: Path, work_dir: Path, log_dir: Path) -> Gunicorn:
    """The minimal Flask app, under our gunicorn.conf.py (the same workers and threads)."""
    return _minimal_server("flask_floor", root, work_dir, log_dir, "floorapp", FLOOR_APP, {})


def stack_server(
    name: str, root: Path, work_dir: Path, log_dir: Path, database_url: str
) -> Gunicorn:
    """The stack's floor (STACK_APP) on `database_url`, under our gunicorn.conf.py."""
    # The driver our app uses: the URL as the app's config reads it.
    url = config.database_url({"DATABASE_URL": database_url}, work_dir)
    env = {"DATABASE_URL": url}
    return _minimal_server(name, root, work_dir, log_dir, "stackapp", STACK_APP, env)


def _minimal_server(
    name: str, root: Path, work_dir: Path, log_dir: Path, module: str, source: str, env: dict
) -> Gunicorn:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / f"{module}.py").write_text(source)
    command = procfile_web_command(root)
    command = [
        str(root / "gunicorn.conf.py") if part == "gunicorn.conf.py" else part for part in command
    ]
    command[-1] = f"{module}:app"
    return Gunicorn(name, work_dir, env, log_dir, command=command)


@dataclass
class Nginx:
    """Debian's nginx with a config of our own: a fixed 302, and a proxy per upstream."""

    directory: Path
    upstreams: dict[str, int]  # name -> gunicorn port
    fixed_port: int = 0
    ports: dict[str, int] = field(default_factory=dict)  # name -> nginx listen port
    proc: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        port = self.fixed_port if name == "nginx_302" else self.ports[name]
        return f"http://127.0.0.1:{port}"

    def render(self) -> str:
        self.fixed_port = self.fixed_port or free_port()
        for name in self.upstreams:
            self.ports.setdefault(name, free_port())
        upstreams = "".join(
            UPSTREAM % {"name": name, "port": port} for name, port in self.upstreams.items()
        )
        servers = "".join(
            PROXY_SERVER % {"name": name, "listen": self.ports[name]} for name in self.upstreams
        )
        return NGINX_CONF % {
            # Run as root, nginx's workers would drop to nobody and lose our temp dirs.
            "user": "user root;" if os.geteuid() == 0 else "",
            "dir": self.directory,
            "fixed_port": self.fixed_port,
            "upstreams": upstreams,
            "servers": servers,
        }

    def start(self) -> None:
        binary = find_tool("nginx")
        if binary is None:
            raise ServerError("nginx is not installed: run `sudo apt-get install nginx-light`")
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(self.render())
        base = [binary, "-p", str(self.directory), "-c", str(conf), "-e", "stderr"]
        check = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise ServerError(f"nginx rejected its config:\n{check.stderr}")
        self.proc = subprocess.Popen(
            [*base, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "stderr.log").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    "nginx exited at start:\n" + (self.directory / "stderr.log").read_text()
                )
            if http_get(self.url("nginx_302") + "/x")[0] == 302:
                return
            time.sleep(0.1)
        raise ServerError("nginx did not answer")

    def worker_rss_mb(self) -> list[float]:
        return workers_rss_mb(self.proc)

    def worker_pss_mb(self) -> list[float]:
        return workers_pss_mb(self.proc)

    def workers_cpu_seconds(self) -> float:
        return workers_cpu_seconds(self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
