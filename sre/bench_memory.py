"""Where a worker's memory goes: a fresh interpreter imports, one layer at a time, what a
gunicorn worker of ours holds, and reads its own VmRSS after each layer.

The stack's floor (bench_servers.STACK_APP) says how much the libraries hold together; this
says which library holds what, so the memory target can be weighed against the libraries the
product is built on. It is one interpreter, not a forked worker under load: the last layer is
about what a worker holds before its first request, and a worker after a run holds its caches,
connections and thread stacks on top.

`python -m sre bench-memory` runs it alone, in seconds; `--python` runs it in another
virtualenv's interpreter (another Python, another build of the driver) and the environment
passes through (PYTHONOPTIMIZE=2, say), so an alternative is measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from sre import bench_data as data
from sre import bench_servers as servers

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Layer:
    name: str
    statement: str
    kinds: tuple[str, ...] = KINDS
    stack: bool = False  # one of the libraries the stack's floor is made of


LAYERS = (
    Layer("Python", "pass", stack=True),
    Layer(
        "gunicorn (the master's imports, which each worker inherits)",
        "import gunicorn.app.wsgiapp, gunicorn.workers.gthread",
        stack=True,
    ),
    Layer("Flask", "import flask", stack=True),
    Layer("SQLAlchemy (with the asyncio it imports)", "import sqlalchemy", stack=True),
    Layer("SQLAlchemy's ORM and Flask-SQLAlchemy", "import flask_sqlalchemy", stack=True),
    Layer(
        "psycopg and SQLAlchemy's PostgreSQL dialect",
        "import psycopg, sqlalchemy.dialects.postgresql.psycopg",
        kinds=("postgres",),
        stack=True,
    ),
    Layer(
        "sqlite3 and SQLAlchemy's SQLite dialect",
        "import sqlite3, sqlalchemy.dialects.sqlite.pysqlite",
        kinds=("sqlite",),
        stack=True,
    ),
    Layer("Flask-Limiter", "import flask_limiter"),
    Layer("Flask-WTF", "import flask_wtf.csrf"),
    Layer("prometheus_client", "import prometheus_client"),
    Layer("our modules and create_app()", "import application"),
)

# Run in the interpreter measured: nothing imported before the first reading but json.
_CHILD = """\
import json, sys

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

readings = []
for statement in json.loads(sys.argv[1]):
    exec(statement, {})
    readings.append(rss_mb())
print("LADDER " + json.dumps(readings))
"""


class LadderError(RuntimeError):
    """A layer could not be imported; the message has the interpreter's error."""


def import_ladder(
    kind: str, database_url: str, python: str = sys.executable, root: Path = ROOT
) -> list[dict]:
    """Import the layers of `kind` one after another in a fresh `python`, our app configured
    as the benchmark runs it on `database_url` (never connected to); a row per layer."""
    layers = [layer for layer in LAYERS if kind in layer.kinds]
    done = subprocess.run(
        [python, "-c", _CHILD, json.dumps([layer.statement for layer in layers])],
        cwd=root,
        env={**os.environ, **servers.app_env(database_url)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    marked = [line for line in done.stdout.splitlines() if line.startswith("LADDER ")]
    if done.returncode != 0 or not marked:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise LadderError(f"the {kind} layers did not import in {python}:\n{tail}")
    readings = json.loads(marked[-1].removeprefix("LADDER "))
    rows, before = [], 0.0
    for layer, reading in zip(layers, readings, strict=True):
        # Rounded before subtracting, so the layers add up to the printed totals exactly.
        rss = round(reading, 1)
        rows.append(
            {
                "layer": layer.name,
                "rss_mb": rss,
                "added_mb": round(rss - before, 1),
                "stack": layer.stack,
            }
        )
        before = rss
    return rows


def ladder_table(kind: str, rows: list[dict], after_run_mb: float | None = None) -> str:
    """The ladder as text: what each layer adds, the libraries' subtotal, then ours."""
    lines = [f"where a worker's memory goes, {kind} (one interpreter, VmRSS after each layer)"]
    lines.append(f"  {rows[0]['rss_mb']:6.1f} MB  {rows[0]['layer']}")
    for previous, row in pairwise(rows):
        if previous["stack"] and not row["stack"]:
            lines.append(f"  {previous['rss_mb']:6.1f} MB  = the libraries alone")
        lines.append(f"  {row['added_mb']:+6.1f}     {row['layer']}")
    ours = rows[-1]["rss_mb"]
    closing = f"  {ours:6.1f} MB  = our app before its first request"
    if after_run_mb is not None:
        closing += f"; {after_run_mb:.1f} MB per worker after the run"
    lines.append(closing)
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench-memory", help="where a worker's memory goes, library by library (seconds)"
    )
    parser.add_argument("--kind", choices=(*KINDS, "both"), default="both")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter to measure (another virtualenv's, with this project's "
        "requirements installed); this one by default",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_DATABASE_URL", data.DEFAULT_POSTGRES_URL),
        help="the database our app is configured with (it is not connected to)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kinds = KINDS if args.kind == "both" else (args.kind,)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        urls = {"sqlite": f"sqlite:///{scratch}/ladder.sqlite3", "postgres": args.postgres_url}
        for kind in kinds:
            try:
                rows = import_ladder(kind, urls[kind], args.python)
            except LadderError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(ladder_table(kind, rows))
            print()
    return 0
