"""Progress lines with timings, and a closing summary, for long commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Progress:
    """Print each step as it starts and ends, with elapsed times, then a summary table."""

    def __init__(self, title: str, stream=None) -> None:
        self.title = title
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self.steps: list[tuple[str, str, float]] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        print(f"[{self.elapsed():7.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step; record it as ok or failed (the exception propagates)."""
        self.say(f"▶ {name}")
        t0 = time.monotonic()
        try:
            yield
        except BaseException:
            took = time.monotonic() - t0
            self.steps.append((name, "FAILED", took))
            self.say(f"✗ {name} failed after {took:.1f}s")
            raise
        took = time.monotonic() - t0
        self.steps.append((name, "ok", took))
        self.say(f"✓ {name} ({took:.1f}s)")

    def summary(self, outcome: str) -> str:
        """Return (and print) a table of the steps and the outcome."""
        width = max([len(name) for name, _, _ in self.steps] + [20])
        lines = [f"\n{self.title}: {outcome} in {self.elapsed():.1f}s"]
        for name, state, took in self.steps:
            lines.append(f"  {name:<{width}}  {state:<6}  {took:6.1f}s")
        text = "\n".join(lines)
        print(text, file=self.stream, flush=True)
        return text
