"""Skip a test whose service is missing, or fail it when CI says everything must run."""

import os
import shutil

import pytest

REQUIRE_ALL = os.environ.get("REQUIRE_ALL") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip (or, under REQUIRE_ALL=1, fail) unless `condition` holds."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"REQUIRE_ALL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def need_program(name: str) -> str:
    """Return the path of `name` on PATH, or skip/fail."""
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed")
    return path or ""
