"""The Jenkinsfile: valid Groovy, and a pipeline whose every step is a `make` target that exists.

Jenkins itself is out of reach of CI; keeping each stage one `make` call means the logic
is tested where it lives (the Makefile and sre/), and this file checks the wiring.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest

from tests.support.require import need_program
from tests.support.servers import ROOT

JENKINSFILE = (ROOT / "Jenkinsfile").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
STAGES_IN_ORDER = [
    "Setup",
    "Lint",
    "Test",
    "Bundle",
    "Verify bundle",
    "Deploy to staging",
    "Smoke staging",
    "Deploy to production",
    "Verify production",
]


@dataclass
class Block:
    """A `head { body }` block of the Jenkinsfile, with the heads of its enclosing blocks."""

    head: str
    body: str
    parents: list[str]


# The call that opens a block: a name, optionally with arguments (nested one level deep).
HEAD = re.compile(r"(\w+\s*(?:\((?:[^()]|\([^()]*\))*\))?)\s*$")


def blocks(text: str) -> list[Block]:
    """Every braced block, outermost first (the Jenkinsfile's strings hold no braces)."""
    code = re.sub(r"//[^\n]*", "", text)
    found, stack, boundary = [], [], 0
    for index, char in enumerate(code):
        if char == "{":
            head = HEAD.search(code[boundary:index])
            stack.append((re.sub(r"\s+", " ", head.group(1)).strip() if head else "", index))
            boundary = index + 1
        elif char == "}":
            boundary = index + 1
            head, start = stack.pop()
            found.append(Block(head, code[start + 1 : index], [h for h, _ in stack]))
    assert not stack, "unbalanced braces"
    return sorted(found, key=lambda b: len(b.parents))


def stage_blocks() -> dict[str, Block]:
    return {
        re.match(r"stage\('([^']+)'\)", b.head).group(1): b
        for b in blocks(JENKINSFILE)
        if b.head.startswith("stage(")
    }


def sh_commands(text: str) -> list[str]:
    return re.findall(r"\bsh '([^']*)'", text)


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.M))


@pytest.mark.slow
def test_groovy_lint_finds_nothing() -> None:
    linter = need_program("npm-groovy-lint")
    need_program("java")
    result = subprocess.run(
        [linter, "--noserver", "--failon", "info", "Jenkinsfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stages_follow_the_guarded_path() -> None:
    names = re.findall(r"stage\('([^']+)'\)", JENKINSFILE)
    leaf_names = [name for name in names if name in STAGES_IN_ORDER]
    assert leaf_names == STAGES_IN_ORDER


def test_every_stage_is_one_call_of_an_existing_make_target() -> None:
    targets = make_targets()
    for name, stage in stage_blocks().items():
        if "stages {" in stage.body:
            continue  # a group: its own stages are checked
        steps = next(b for b in blocks(stage.body) if b.head == "steps" and not b.parents)
        commands = sh_commands(steps.body)
        assert len(commands) == 1, f"{name}: {commands}"
        words = commands[0].split()
        assert words[0] == "make" and words[1] in targets, f"{name}: {commands[0]}"


def test_every_shell_step_anywhere_is_an_existing_make_target() -> None:
    targets = make_targets()
    commands = sh_commands(JENKINSFILE)
    assert commands
    for command in commands:
        assert re.match(r"make ([a-z-]+)", command).group(1) in targets, command


def test_pipeline_options() -> None:
    options = next(b for b in blocks(JENKINSFILE) if b.head == "options" and len(b.parents) == 1)
    assert re.search(r"timeout\(time: \d+, unit: 'MINUTES'\)", options.body)
    for option in ("disableConcurrentBuilds()", "buildDiscarder(logRotator(", "timestamps()"):
        assert option in options.body


def test_tests_are_published_and_the_bundle_archived() -> None:
    stages = stage_blocks()
    assert "junit 'out/junit.xml'" in stages["Test"].body
    assert "--junitxml=out/junit.xml" in stages["Test"].body
    assert "archiveArtifacts artifacts: 'dist/shortener-*.zip'" in stages["Bundle"].body


def test_production_is_main_only_and_locked() -> None:
    group = next(
        b
        for b in blocks(JENKINSFILE)
        if b.head.startswith("stage(") and "Deploy to production" in b.body and "stages {" in b.body
    )
    assert "branch 'main'" in group.body
    assert "lock('eb-prod')" in group.body
    assert "Verify production" in group.body


def test_aws_credentials_come_only_from_the_credentials_store() -> None:
    aws_commands = [c for c in sh_commands(JENKINSFILE) if re.match(r"make (deploy|rollback)", c)]
    assert aws_commands
    for block in blocks(JENKINSFILE):
        direct = sh_commands(re.sub(r"\{[^{}]*\}", "", block.body))
        for command in direct:
            if re.match(r"make (deploy|rollback)", command):
                assert block.head.startswith("withCredentials("), command
                assert "AmazonWebServicesCredentialsBinding" in block.head, command
    assert not re.search(r"AKIA[0-9A-Z]{16}|AWS_SECRET_ACCESS_KEY\s*=", JENKINSFILE)


def test_a_failed_smoke_after_a_deploy_rolls_that_environment_back() -> None:
    stages = stage_blocks()
    for name, env in (("Smoke staging", "$STAGING_ENV"), ("Verify production", "$PROD_ENV")):
        failure = next(b for b in blocks(stages[name].body) if b.head == "failure")
        assert sh_commands(failure.body) == [f"make rollback ENV={env}"], name
    # `make deploy` restores the previous version itself when it fails: rolling back again
    # would go one version further back.
    for name in ("Deploy to staging", "Deploy to production"):
        assert "rollback" not in stages[name].body, name


def test_smoke_checks_the_version_just_built() -> None:
    stages = stage_blocks()
    for name, url in (("Smoke staging", "$STAGING_URL"), ("Verify production", "$PROD_URL")):
        command = sh_commands(stages[name].body)[0]
        assert command.startswith(f"make smoke BASE_URL={url} ")
        assert "EXPECTED_VERSION=$(cat dist/LABEL)" in command


def test_a_failed_build_notifies() -> None:
    post = next(b for b in blocks(JENKINSFILE) if b.head == "post" and len(b.parents) == 1)
    failure = next(b for b in blocks(post.body) if b.head == "failure")
    assert [c.split()[:2] for c in sh_commands(failure.body)] == [["make", "notify"]]
