"""nginx in front of the local environment, configured as EB's nginx is.

It runs from Debian's package with a prefix of its own (config, pid, logs, temp files):
`nginx -p PREFIX -c nginx.conf`. Switching traffic rewrites the upstream and reloads
gracefully (SIGHUP): new workers take new connections, old ones finish what they hold.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sre.localenv.processes import children_of, pid_alive

# EB's nginx keeps nginx's 1 MB default unless .platform/nginx/conf.d raises it.
DEFAULT_MAX_BODY = "1m"
MAX_BODY_PATTERN = re.compile(r"^\s*client_max_body_size\s+([0-9]+[kKmMgG]?)\s*;", re.MULTILINE)
TYPES = {
    "text/html": "html htm",
    "text/css": "css",
    "text/plain": "txt",
    "application/javascript": "js mjs",
    "application/json": "json map",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpg jpeg",
    "image/gif": "gif",
    "image/x-icon": "ico",
    "image/webp": "webp",
    "font/woff2": "woff2",
    "font/woff": "woff",
    "application/manifest+json": "webmanifest",
}


class NginxError(RuntimeError):
    """nginx could not be configured, started, reloaded or stopped."""


def platform_confs(app_dir: Path) -> list[Path]:
    """The bundle's .platform/nginx/conf.d/*.conf, which EB includes in nginx's http block."""
    return sorted((app_dir / ".platform" / "nginx" / "conf.d").glob("*.conf"))


def max_body_size(app_dir: Path) -> str | None:
    """The client_max_body_size the bundle's conf.d sets, or None (nginx's 1m applies)."""
    found = None
    for conf in platform_confs(app_dir):
        match = MAX_BODY_PATTERN.search(conf.read_text())
        if match:
            found = match.group(1)
    return found


@dataclass
class Upstream:
    """Where nginx sends traffic: the serving instance's port and its bundle's folder, and
    the ports of further instances of the same bundle that share the traffic (round robin,
    as the load balancer spreads it over EB's instances)."""

    port: int
    app_dir: Path
    more_ports: tuple[int, ...] = ()

    def servers(self) -> str:
        return "\n".join(
            f"        server 127.0.0.1:{port};" for port in (self.port, *self.more_ports)
        )


def render_config(prefix: Path, listen_port: int, upstream: Upstream) -> str:
    """nginx.conf for `prefix`, listening on 127.0.0.1:`listen_port`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    types = "\n".join(f"        {mime} {exts};" for mime, exts in TYPES.items())
    static = upstream.app_dir / "static"
    temp = prefix / "temp"
    # As on EB, the bundle's own nginx additions (upload limit, proxy timeouts) apply.
    includes = [f"    include {conf};" for conf in platform_confs(upstream.app_dir)]
    if max_body_size(upstream.app_dir) is None:
        includes.append(f"    client_max_body_size {DEFAULT_MAX_BODY};")
    platform = "\n".join(
        ["    # The bundle's .platform/nginx/conf.d, as EB includes it.", *includes]
    )
    return f"""# Written by sre (local environment); rewritten on every switch.
{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    log_format timed '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent '
                     'upstream=$upstream_addr rt=$request_time id=$request_id';
    access_log {prefix}/logs/access.log timed;
    sendfile on;
    keepalive_timeout 65;
{platform}
    upstream app {{
{upstream.servers()}
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{listen_port};
        server_name _;

        # As EB's staticfiles option does: nginx serves /static from the bundle.
        location /static {{
            alias {static};
            expires 1h;
        }}

        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
        }}
    }}
}}
"""


class Nginx:
    """One nginx master under `prefix`, serving 127.0.0.1:`port`."""

    def __init__(self, prefix: Path, port: int, binary: str | None = None) -> None:
        self.prefix = prefix
        self.port = port
        self.binary = binary or shutil.which("nginx") or "/usr/sbin/nginx"
        self.conf = prefix / "nginx.conf"
        self.pid_file = prefix / "nginx.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def master_pid(self) -> int | None:
        """The running master's pid, or None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.master_pid() is not None

    def startup_args(self, conf: Path) -> list[str]:
        """Prefix, config and (-e) the error log nginx uses before it reads the config, so
        nothing is written outside the prefix, even when not run as root."""
        error_log = self.prefix / "logs" / "error.log"
        return ["-p", str(self.prefix), "-e", str(error_log), "-c", str(conf)]

    def _nginx(self, *args: str) -> None:
        result = subprocess.run(
            [self.binary, *self.startup_args(self.conf), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise NginxError(f"nginx {' '.join(args)}: {result.stderr.strip()}")

    def write_config(self, upstream: Upstream) -> None:
        """Write nginx.conf for `upstream` and check it with `nginx -t`."""
        for sub in ("logs", "temp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        staged = self.conf.with_suffix(".conf.new")
        staged.write_text(render_config(self.prefix, self.port, upstream))
        result = subprocess.run(
            [self.binary, "-t", "-q", *self.startup_args(staged)],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise NginxError(f"nginx rejects the new config: {result.stderr.strip()}")
        staged.replace(self.conf)

    def serve(self, upstream: Upstream, drain_timeout: float = 30.0) -> None:
        """Send traffic to `upstream`: start nginx, or reload it and wait until no worker
        of the previous configuration is left (so the old upstream gets no new request)."""
        self.write_config(upstream)
        master = self.master_pid()
        if master is None:
            self._nginx()
            self._wait_started()
            return
        old_workers = set(children_of(master))
        os.kill(master, signal.SIGHUP)
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            current = set(children_of(master))
            if current and not current & old_workers:
                return
            time.sleep(0.02)
        raise NginxError(f"old nginx workers still running {drain_timeout:.0f}s after reload")

    def _wait_started(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            master = self.master_pid()
            if master and children_of(master):
                return
            time.sleep(0.05)
        raise NginxError(f"nginx did not start; see {self.prefix / 'logs' / 'error.log'}")

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful quit (SIGQUIT), waiting for the master to exit."""
        master = self.master_pid()
        if master is None:
            return
        os.kill(master, signal.SIGQUIT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(master):
            time.sleep(0.05)
        if pid_alive(master):
            os.kill(master, signal.SIGKILL)
