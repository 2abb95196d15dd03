"""The orchestration's small decisions: what a rollback restores, the deploy log, outcomes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from sre.deploy import Outcome, bundle_version, send_notification, undo_label
from sre.deploylog import DeployLog, read_events
from sre.localenv.breakages import PatchTargetMissing, break_create, broken_copy, inject_first_line


def log_with(tmp_path: Path, *events: dict) -> DeployLog:
    log = DeployLog(tmp_path / "deploy-log.jsonl")
    for event in events:
        log.write(event.pop("event"), event.pop("label"), **event)
    return log


def test_rollback_restores_what_the_last_successful_deploy_replaced(tmp_path: Path) -> None:
    log = log_with(
        tmp_path,
        {"event": "deploy-succeeded", "label": "v2", "action": "deploy", "previous": "v1"},
        {"event": "deploy-succeeded", "label": "v3", "action": "deploy", "previous": "v2"},
    )
    assert undo_label(log) == ("v2", "v3 replaced v2")


def test_rollback_after_a_failed_and_undone_deploy_has_nothing_to_do(tmp_path: Path) -> None:
    log = log_with(
        tmp_path,
        {"event": "deploy-succeeded", "label": "v2", "action": "deploy", "previous": "v1"},
        {"event": "deploy-failed", "label": "v3", "action": "deploy", "previous": "v2",
         "restored": True},
    )  # fmt: skip
    label, why = undo_label(log)
    assert label is None and "already undone" in why


def test_rollback_after_a_failed_restore_tries_the_recorded_label_again(tmp_path: Path) -> None:
    log = log_with(
        tmp_path,
        {"event": "deploy-failed", "label": "v3", "action": "deploy", "previous": "v2",
         "restored": False},
    )  # fmt: skip
    assert undo_label(log)[0] == "v2"


def test_rollback_without_any_deploy_knows_nothing(tmp_path: Path) -> None:
    assert undo_label(DeployLog(tmp_path / "none.jsonl")) == (
        None,
        "the deploy log records no deploy",
    )


def test_the_deploy_log_is_json_lines_with_time_event_and_label(tmp_path: Path) -> None:
    log = DeployLog(tmp_path / "sub" / "deploy-log.jsonl")
    log.write("step-started", "v1", step="x")
    with log.path.open("a") as torn:
        torn.write('{"time": "2026-')  # a crash mid-line must not hide the rest
    events = list(read_events(log.path))
    assert len(events) == 1
    assert set(events[0]) == {"time", "event", "label", "step"}
    assert events[0]["time"].endswith("Z")


@pytest.mark.parametrize(
    ("restored", "previous", "code", "words"),
    [(True, "v1", 1, "v1 serves again"), (False, "v1", 2, "needs a person"),
     (None, None, 1, "Nothing served before")],
)  # fmt: skip
def test_an_outcome_says_what_serves_and_exits_accordingly(
    restored: bool | None, previous: str | None, code: int, words: str
) -> None:
    outcome = Outcome("prod", "deploy", "v2", previous, ok=False, failed_step="smoke",
                      error="boom\ndetail", restored=restored)  # fmt: skip
    assert outcome.exit_code == code
    assert words in outcome.text() and "boom" in outcome.text()


def test_without_a_webhook_the_failure_is_only_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_WEBHOOK", raising=False)
    assert send_notification("x").startswith("not notified")
    monkeypatch.setenv("NOTIFY_WEBHOOK", "http://127.0.0.1:9/nothing-listens")
    assert send_notification("x").startswith("notification failed")


def test_a_bundle_version_comes_from_its_build_info(tmp_path: Path) -> None:
    bundle = tmp_path / "shortener-x.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("build-info.json", '{"version": "20260101-000000-abcdef0"}')
    assert bundle_version(bundle) == "20260101-000000-abcdef0"
    (tmp_path / "shortener-broken.zip").write_text("not a zip")
    assert bundle_version(tmp_path / "shortener-broken.zip") == "broken"


def test_a_breakage_whose_target_is_gone_fails_loudly() -> None:
    with pytest.raises(PatchTargetMissing):
        break_create({"shortener/links.py": b"def make_link():\n    pass\n"})


def test_the_injected_line_goes_after_the_docstring_of_the_one_matching_function() -> None:
    source = 'def f(x):\n    """Doc."""\n    return x\n\ndef g():\n    return 1\n'
    patched = inject_first_line(source, lambda fn: fn.name == "f", "raise TypeError('slip')")
    assert patched.splitlines()[2] == "    raise TypeError('slip')"
    namespace: dict = {}
    exec(compile(patched, "patched", "exec"), namespace)  # noqa: S102
    with pytest.raises(TypeError):
        namespace["f"](1)
    assert namespace["g"]() == 1


def test_a_broken_copy_leaves_the_original_and_carries_its_own_label(tmp_path: Path) -> None:
    original = tmp_path / "shortener-v1.zip"
    with zipfile.ZipFile(original, "w") as archive:
        archive.writestr("build-info.json", '{"version": "v1", "commit": "abc"}')
        archive.writestr(
            "shortener/links.py",
            'def create_link(*, url=None):\n    """Create."""\n    return url\n',
        )
    before = original.read_bytes()

    copy = broken_copy(original, "create-500", "v2", tmp_path / "out")

    assert original.read_bytes() == before
    assert bundle_version(copy) == "v2"
    with zipfile.ZipFile(copy) as archive:
        assert "json.loads(io.StringIO" in archive.read("shortener/links.py").decode()


def test_the_load_needs_links_to_redirect() -> None:
    from sre.load import Load

    with pytest.raises(ValueError, match="at least one existing code"):
        Load("http://127.0.0.1:9", [])
