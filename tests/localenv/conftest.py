"""A real local environment (nginx + gunicorn instances) shared by a module's tests.

Bundles are built once per session from the working tree; versions are copies of it under
new labels (broken ones are patched copies). Venvs come from the repository's venv cache
(.state/venvs), so only the first run on a machine pays for pip.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sre.bundle import build_bundle
from sre.deploy import Gates, Outcome, guarded_deploy
from sre.load import Load, create_link
from sre.localenv.breakages import broken_copy
from sre.localenv.environment import DEFAULT_VENV_CACHE, LocalEnvironment
from sre.progress import Progress
from tests.support import require
from tests.support.servers import free_port

# The load generator creates links faster than the production limit of one client allows.
LOAD_ENV = {"RATE_LIMIT_CREATE": "100000/minute"}


def quiet() -> Progress:
    return Progress("test", stream=io.StringIO())


@pytest.fixture(scope="session")
def base_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of the working tree."""
    require.need_program("nginx")
    dist = tmp_path_factory.mktemp("dist")
    return build_bundle(dist=dist, label=f"test-base-{secrets.token_hex(3)}", progress=quiet())


@pytest.fixture(scope="session")
def make_version(
    base_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """make_version(name, breakage=None): a copy of the base bundle labelled uniquely."""
    dist = tmp_path_factory.mktemp("versions")

    def make(name: str, breakage: str | None = None) -> Path:
        label = f"{name}-{secrets.token_hex(3)}"
        return broken_copy(base_bundle, breakage, label, dist)

    return make


class Env:
    """A local environment under test, with helpers to deploy and to run load."""

    def __init__(self, root: Path) -> None:
        self.target = LocalEnvironment(
            root=root,
            venv_cache=DEFAULT_VENV_CACHE,
            port=free_port(),
            ready_timeout=8.0,
            extra_env=LOAD_ENV,
        )
        self.codes: list[str] = []

    @property
    def url(self) -> str:
        return self.target.base_url()

    def deploy(self, bundle: Path | None, label: str | None = None, **gates: bool) -> Outcome:
        from sre.deploy import bundle_version

        label = label or bundle_version(bundle)  # type: ignore[arg-type]
        action = "deploy" if bundle else "rollback"
        return guarded_deploy(
            self.target,
            label,
            bundle,
            quiet(),
            Gates(verify_bundle=False, **gates),
            junit_dir=self.target.root / "junit",
            action=action,
        )

    def load(self, **kwargs: float) -> Load:
        """A steady load (25 requests/s, a quarter of them creates), bounded to 90 s."""
        if not self.codes:
            self.codes = [create_link(self.url)[0] for _ in range(10)]
        settings = {"rate": 25.0, "create_share": 0.25, "concurrency": 3, "duration": 90.0}
        return Load(self.url, self.codes, **{**settings, **kwargs})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, make_version: Callable[..., Path]
) -> Iterator[Env]:
    """A local environment serving a first good version; stopped after the module."""
    environment = Env(tmp_path_factory.mktemp("local-env"))
    outcome = environment.deploy(make_version("v1"))
    assert outcome.ok, outcome.text()
    try:
        yield environment
    finally:
        environment.target.stop()
