"""`make verify-bundle` passes a good bundle and rejects one broken in each way EB would see.

Each broken bundle is a copy of a freshly built good one with one file patched inside the
zip (never in the repository). A full boot installs a clean venv (about 10-40 s), so the
boots are few: one good bundle and one per way to fail.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sre.bundle import build_bundle
from sre.cli import main
from sre.progress import Progress
from sre.verify import BundleRejected, verify_bundle
from tests.support.servers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.gunicorn]

# Appended to application.py: the app answers /readyz with 503 for ever, as an instance
# whose database never becomes reachable would.
NEVER_READY = """

_wsgi_app = application.wsgi_app


def _never_ready(environ, start_response):
    if environ.get("PATH_INFO") == "/readyz":
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"database unreachable"]
    return _wsgi_app(environ, start_response)


application.wsgi_app = _never_ready
"""


@pytest.fixture(scope="module")
def good_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    return build_bundle(ROOT, dist, label="verify-test", progress=Progress("", io.StringIO()))


def patched(good: Path, dest: Path, path: str, change: Callable[[str], str]) -> Path:
    """Copy `good` to `dest` with `path` rewritten by `change`, keeping every entry's attributes."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(dest, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == path:
                data = change(data.decode()).encode()
            target.writestr(info, data)
    return dest


def break_create_path(source: str) -> str:
    """Make creating a link raise, as version 2's `json.load` -> `json.loads` slip did."""
    marker = "def create_link("
    assert marker in source, "shortener/links.py no longer defines create_link"
    return source.replace(marker, "def _create_link(", 1) + (
        "\n\ndef create_link(*args, **kwargs):\n"
        "    raise TypeError(\"the JSON object must be str, bytes or bytearray, not 'dict'\")\n"
    )


def verify(bundle: Path, ready_timeout: float = 60) -> str:
    """Run verify_bundle and return its progress output."""
    out = io.StringIO()
    verify_bundle(bundle, Progress("verify-bundle", out), ready_timeout=ready_timeout)
    return out.getvalue()


def test_a_good_bundle_boots_and_passes_the_smoke_suite(good_bundle: Path) -> None:
    output = verify(good_bundle)
    assert "run the smoke suite (" in output
    assert "FAILED" not in output


def test_a_bundle_that_fails_to_install_is_rejected(good_bundle: Path, tmp_path) -> None:
    bundle = patched(
        good_bundle,
        tmp_path / "bad.zip",
        "requirements.txt",
        lambda text: text + "no-such-package-for-shortener-tests==0.0.1\n",
    )
    with pytest.raises(
        BundleRejected,
        match=r"^install failed: (?s:.*)No matching distribution found for no-such-package",
    ):
        verify(bundle)


def test_a_bundle_that_fails_to_import_is_rejected(good_bundle: Path, tmp_path) -> None:
    bundle = patched(
        good_bundle, tmp_path / "bad.zip", "application.py", lambda text: text + "\ndef (:\n"
    )
    with pytest.raises(BundleRejected, match=r"^the app does not import: (?s:.*)SyntaxError"):
        verify(bundle)


def test_a_bundle_that_never_becomes_ready_is_rejected(good_bundle: Path, tmp_path) -> None:
    bundle = patched(
        good_bundle, tmp_path / "bad.zip", "application.py", lambda text: text + NEVER_READY
    )
    with pytest.raises(BundleRejected, match=r"^never ready: /readyz did not answer 200 .*503"):
        verify(bundle, ready_timeout=5)


def test_a_bundle_whose_create_path_fails_is_rejected_by_the_smoke_suite(
    good_bundle: Path, tmp_path
) -> None:
    bundle = patched(good_bundle, tmp_path / "bad.zip", "shortener/links.py", break_create_path)
    with pytest.raises(BundleRejected, match=r"^smoke failed: (?s:.*)test_shorten_through_the_api"):
        verify(bundle)


def test_the_command_exits_non_zero_with_the_reason(tmp_path: Path, capsys) -> None:
    assert main(["verify-bundle", "--bundle", str(tmp_path / "missing.zip")]) == 1
    assert "REJECTED" in capsys.readouterr().out

    not_a_zip = tmp_path / "shortener-broken.zip"
    not_a_zip.write_text("not a zip")
    assert main(["verify-bundle", "--dist", str(tmp_path)]) == 1
    assert "the bundle cannot be unpacked" in capsys.readouterr().out

    assert main(["verify-bundle", "--dist", str(tmp_path / "empty")]) == 1
    assert "run `make bundle` first" in capsys.readouterr().out
