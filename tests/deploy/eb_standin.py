"""A stand-in for the `eb` and `aws` CLIs: one Elastic Beanstalk environment in a JSON file.

Run as `python eb_standin.py eb|aws ARGS...` (the tests put `eb` and `aws` wrappers on
PATH). It records every call in $EB_STANDIN_CALLS (JSON lines) and answers only what
sre/eb.py asks. $EB_STANDIN_FAIL (comma-separated) makes a step fail:
  describe         `aws elasticbeanstalk describe-environments` exits 255
  deploy           `eb deploy --label` exits 4 (EB keeps the old version)
  unhealthy        `eb deploy --label` succeeds, the environment stays Red
  silent-revert    `eb deploy --label` succeeds, but the old label serves (Ready, Green)
  redeploy         `eb deploy --version` exits 4
  unhealthy-after-restore  `eb deploy --version` succeeds, the environment stays Red
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

EXIT_EB_FAILED = 4
EXIT_AWS_FAILED = 255


def load_state() -> dict:
    return json.loads(Path(os.environ["EB_STANDIN_STATE"]).read_text())


def save_state(state: dict) -> None:
    Path(os.environ["EB_STANDIN_STATE"]).write_text(json.dumps(state, indent=2))


def record(call: dict) -> None:
    with Path(os.environ["EB_STANDIN_CALLS"]).open("a") as calls:
        calls.write(json.dumps(call) + "\n")


def failing(step: str) -> bool:
    return step in os.environ.get("EB_STANDIN_FAIL", "").split(",")


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def artifact_version() -> str | None:
    """The version inside the artifact `.elasticbeanstalk/config.yml` names (in the cwd)."""
    import zipfile

    config = yaml.safe_load(Path(".elasticbeanstalk/config.yml").read_text())
    with zipfile.ZipFile(config["deploy"]["artifact"]) as bundle:
        return json.loads(bundle.read("build-info.json"))["version"]


def eb(args: list[str]) -> int:
    state = load_state()
    if args[:1] != ["deploy"] or args[1:2] != [state["environment"]]:
        print(f"stand-in: unexpected eb {' '.join(args)}", file=sys.stderr)
        return 2
    new, existing = option(args, "--label"), option(args, "--version")
    if new:
        record({"tool": "eb", "argv": args, "artifact_version": artifact_version()})
        if failing("deploy"):
            print("ERROR: ServiceError - deployment failed, instances unhealthy", file=sys.stderr)
            return EXIT_EB_FAILED
        state["versions"].insert(0, new)
        if not failing("silent-revert"):
            state["label"] = new
        state["health"] = "Red" if failing("unhealthy") else "Green"
    elif existing:
        record({"tool": "eb", "argv": args})
        if failing("redeploy") or existing not in state["versions"]:
            print(f"ERROR: cannot deploy {existing}", file=sys.stderr)
            return EXIT_EB_FAILED
        state["label"] = existing
        state["health"] = "Red" if failing("unhealthy-after-restore") else "Green"
    save_state(state)
    return 0


def aws(args: list[str]) -> int:
    record({"tool": "aws", "argv": args})
    state = load_state()
    if failing("describe"):
        print("An error occurred (Throttling): Rate exceeded", file=sys.stderr)
        return EXIT_AWS_FAILED
    query = option(args, "--query")
    if args[:2] == ["elasticbeanstalk", "describe-application-versions"]:
        print("\t".join(state["versions"]))
        return 0
    fields = {
        "Environments[0].VersionLabel": [state["label"]],
        "Environments[0].[Status,Health,VersionLabel]": ["Ready", state["health"], state["label"]],
        "Environments[0].CNAME": [state["cname"]],
        "Environments[0].ApplicationName": [state["application"]],
        "Environments[0].[Status,Health,VersionLabel,CNAME]": [
            "Ready",
            state["health"],
            state["label"],
            state["cname"],
        ],
    }
    if args[:2] != ["elasticbeanstalk", "describe-environments"] or query not in fields:
        print(f"stand-in: unexpected aws {' '.join(args)}", file=sys.stderr)
        return 2
    print("\t".join(fields[query]))
    return 0


if __name__ == "__main__":
    tool, *rest = sys.argv[1:]
    sys.exit(eb(rest) if tool == "eb" else aws(rest))
