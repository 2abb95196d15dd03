"""The operational documents answer what they must, and their figures hold together.

The drill itself runs in tests/localenv/test_drill.py; here only the documents are read.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from sre.cli import build_parser
from sre.drill import Scenario

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FOUR = ("post-incident-report.md", "runbook.md", "slo.md", "architecture.md")
FIVE_QUESTIONS = (
    "What was the reason for the incident?",
    "How long was the site down or malfunctioning?",
    "What steps were taken to resolve the incident?",
    "Was the incident fully resolved?",
    "What steps would you take to prevent this from happening again?",
)
BUDGET_SECONDS = 20 * 60


def read(name: str) -> str:
    return (DOCS / name).read_text()


def headings(text: str) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"^(#{2,4}) (.+)$", text, re.MULTILINE)]


def section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    assert match, f"no heading {heading!r}"
    return match.group(2)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every Markdown table in `text`, as lists of cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


@pytest.mark.parametrize("question", FIVE_QUESTIONS)
def test_the_report_answers_each_question_under_its_own_heading(question: str) -> None:
    report = read("post-incident-report.md")
    assert question in headings(report)
    answer = section(report, question)
    assert len(answer.split()) >= 40, f"the answer to {question!r} is too thin"


def test_the_report_has_the_parts_the_customer_needs() -> None:
    report = read("post-incident-report.md")
    for part in ("Summary for the customer", "Impact", "Timeline", "The figures"):
        assert part in headings(report)
    assert "The root causes behind the root cause" in headings(report)
    impact = section(report, "Impact")
    assert "redirect" in impact and "Kept working" in impact
    assert "| t (s) | event |" in section(report, "Timeline")


def test_the_reports_durations_come_from_the_drill_and_add_up() -> None:
    report = read("post-incident-report.md")
    figures = section(report, "The figures")
    assert "make drill" in figures and "2026-" in figures
    runs = [row for row in table_rows(figures) if row[0].isdigit()]
    assert len(runs) >= 3, "at least three runs, for the spread"
    for run, _, failed, downtime, detected, restored, share, guarded, _ in runs:
        down, found, back = float(downtime), float(detected), float(restored)
        assert int(failed.split("/")[0].replace(",", "")) > 0, f"run {run}"
        assert 0 < found < back and down <= back, f"run {run}"
        assert share == f"{100 * down / BUDGET_SECONDS:.1f} %", f"run {run}: budget share"
        assert guarded.startswith("0 / "), f"run {run}: the guarded path failed requests"
    # The headline figures are one of the runs, and the range is the runs' range.
    downtimes = sorted(float(row[3]) for row in runs)
    how_long = section(report, "How long was the site down or malfunctioning?")
    quoted = re.search(r"\*\*([0-9.]+) s\*\*", how_long)
    assert quoted and float(quoted.group(1)) in downtimes
    assert f"{downtimes[0]:.2f} s to {downtimes[-1]:.2f} s" in how_long
    share = re.search(r"([0-9.]+) / 1,200 = \*\*([0-9.]+) %\*\*", how_long)
    assert share and f"{100 * float(share.group(1)) / BUDGET_SECONDS:.1f}" == share.group(2)


def test_the_drill_still_reports_the_fields_the_report_quotes() -> None:
    quoted = Scenario("as it happened", "all-at-once", "none").figures()
    for field in (
        "failed_requests",
        "downtime_seconds",
        "detected_after_seconds",
        "restored_after_seconds",
        "by_kind",
    ):
        assert field in quoted


def test_every_prevention_names_where_it_lives_and_what_proves_it() -> None:
    report = read("post-incident-report.md")
    answer = section(report, "What steps would you take to prevent this from happening again?")
    rows = [row for row in table_rows(answer) if row[0].isdigit()]
    text = answer.lower()
    for part in ("smoke gate", "immutable", "automatic rollback", "monitor", "status page"):
        assert part in text, part
    assert "notifications" in text
    assert "0 of 1,196 requests failed" in answer or re.search(r"0 of [0-9,]+ requests", answer)
    for number, _, where, proof in rows:
        paths = re.findall(r"`([^`]+)`", where)
        assert paths, f"action {number} names no part of the repository"
        for path in paths:
            candidate = path.split(" ")[0].replace("<env>", "local")
            if "/" in candidate and not candidate.startswith(".state"):
                assert (ROOT / candidate).exists(), f"action {number}: {candidate} is missing"
        assert proof, f"action {number} has no proof"


def test_the_readme_links_the_four_documents() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in FOUR:
        assert f"](docs/{name})" in readme, name


def test_architecture_draws_three_paths_in_mermaid() -> None:
    architecture = read("architecture.md")
    blocks = re.findall(r"^```mermaid\n(.*?)^```", architecture, re.M | re.S)
    assert len(blocks) == 3
    for block in blocks:
        assert block.split()[0] in ("flowchart", "graph", "sequenceDiagram")
    for path in ("The request path", "The deploy path", "The monitoring path", "Past one instance"):
        assert path in headings(architecture)


def test_the_runbook_covers_what_on_call_needs() -> None:
    runbook = read("runbook.md")
    for heading in (
        "Deploy",
        "Verify",
        "Roll back",
        "When /readyz fails",
        "When the database is down",
        "When the budget burns fast",
        "Telling the customer",
    ):
        assert heading in headings(runbook)
    assert "eb deploy" in runbook and "ENV=local" in runbook
    assert "Subject:" in section(runbook, "Telling the customer")


def test_commands_in_the_documents_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    parser = build_parser()
    subcommands = next(
        a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name in FOUR:
        text = read(name)
        for target in re.findall(r"`make ([a-z-]+)", text):
            assert target in targets, f"{name}: make {target}"
        for command in re.findall(r"python -m sre ([a-z][a-z-]*)", text):
            assert command in subcommands, f"{name}: python -m sre {command}"


def test_the_slo_thresholds_are_the_alert_rules() -> None:
    slo = read("slo.md")
    rules = (ROOT / "sre" / "alerts" / "slo-rules.yml").read_text()
    alarms = (ROOT / ".ebextensions" / "06-alarms.config").read_text()
    allowed = 1 - 0.999962
    for rate, ratio in ((14.4, "0.000547"), (6, "0.000228")):
        assert f"({rate} * 0.000038)" in rules
        assert f"| {ratio} | {rate} |" in slo
        assert abs(rate * allowed - float(ratio)) < 1e-6
    assert "Threshold: 0.000547" in alarms and "0.000547" in slo
    for heading in ("The SLIs", "How the monitor counts downtime", "Error budget policy"):
        assert heading in headings(slo)
