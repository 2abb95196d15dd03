"""Driving wrk: its Lua scripts, one run, and the figures read back from its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The same client settings for every target, as the peer figures were measured.
THREADS = 2
CONNECTIONS = 32

# Each wrk thread has its own Lua state: it reads the codes once, then picks one at random
# for every request, so the app sees the spread of codes a real crowd of visitors sends.
RANDOM_CODES_LUA = """\
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + tid)
  codes = {}
  for line in io.lines("%(codes)s") do codes[#codes + 1] = "/" .. line end
  n = #codes
end
function request()
  return wrk.format("GET", codes[math.random(n)])
end
"""

# A fixed body: the app generates each code, so every request creates a new link.
CREATE_LUA = """\
wrk.method = "POST"
wrk.body = '{"url": "https://example.com/landing/page?campaign=bench"}'
wrk.headers["Content-Type"] = "application/json"
"""

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed a report we cannot read."""


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def ensure_tools() -> str:
    """Return wrk's path, having made sure wrk and nginx are there.

    Debian's packages are installed when missing and we may (root); otherwise the error
    says what to install.
    """
    missing = [pkg for cmd, pkg in _TOOLS if not find_tool(cmd)]
    apt = shutil.which("apt-get")
    if missing and apt and _is_root():
        subprocess.run([apt, "update", "-qq"], check=False)
        subprocess.run(
            [apt, "install", "-y", "-qq", "--no-install-recommends", *missing], check=False
        )
        missing = [pkg for cmd, pkg in _TOOLS if not find_tool(cmd)]
    if missing:
        raise WrkError(
            f"{' and '.join(missing)} not installed: run `sudo apt-get install {' '.join(missing)}`"
        )
    return find_tool("wrk")


# (command, Debian package). nginx lives in /usr/sbin, which a user's PATH may lack.
_TOOLS = (("wrk", "wrk"), ("nginx", "nginx-light"))


def find_tool(command: str) -> str | None:
    """A command's path, looking in the sbin directories too (None when it is not there)."""
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def write_scripts(directory: Path, codes_file: Path) -> tuple[Path, Path]:
    """Write the random-code and the create scripts; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    random_codes = directory / f"random-{codes_file.stem}.lua"
    random_codes.write_text(RANDOM_CODES_LUA % {"codes": codes_file.resolve()})
    create = directory / "create.lua"
    create.write_text(CREATE_LUA)
    return random_codes, create


def run_wrk(wrk: str, url: str, script: Path, seconds: int) -> WrkResult:
    """Run wrk against `url` with `script` for `seconds` and return its figures."""
    command = [
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if result.returncode != 0:
        raise WrkError(f"wrk failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return parse_report(result.stdout)


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise WrkError(f"unreadable duration in wrk's report: {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_report(report: str) -> WrkResult:
    """Read rps, median and 99th percentile latency, and errors from wrk's --latency report."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", report, re.MULTILINE)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", report, re.MULTILINE)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", report, re.MULTILINE)
    if not (rps and total and p50 and p99):
        raise WrkError(f"unreadable wrk report:\n{report[-1500:]}")
    errors = 0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    bad_status = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if bad_status:
        errors += int(bad_status.group(1))
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1)),
        p99_ms=_duration_ms(p99.group(1)),
        errors=errors,
        requests=int(total.group(1)),
    )
