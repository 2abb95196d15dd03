"""`python -m sre COMMAND`: each command module adds its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module exposes `register(subparsers)`, which adds subcommands whose parsers set
# `func` (taking the parsed arguments, returning an exit status).
COMMAND_MODULES: list[str] = [
    "sre.bundle",
    "sre.verify",
    "sre.notify",
    "sre.monitor",
    "sre.budget",
    "sre.incidents",
    "sre.statuspage",
    "sre.postmortem",
    "sre.deploy",
    "sre.load",
    "sre.drill",
    "sre.bench",
    "sre.bench_memory",
]


def build_parser() -> argparse.ArgumentParser:
    """Collect every command module's subcommands into one parser."""
    parser = argparse.ArgumentParser(prog="python -m sre", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
