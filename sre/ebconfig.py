"""Read the Elastic Beanstalk configuration files (.ebextensions/*.config) of a source tree.

They are plain YAML: CloudFormation functions are written in their long forms
(`Ref:`, `Fn::GetAtt:`), never as `!Ref` tags, so `yaml.safe_load` reads them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ENV_NAMESPACE = "aws:elasticbeanstalk:application:environment"


def config_files(root: Path) -> list[Path]:
    """The .ebextensions files EB reads, in the order it applies them."""
    return sorted((root / ".ebextensions").glob("*.config"))


def load_config(path: Path) -> dict:
    """Parse one .ebextensions file."""
    return yaml.safe_load(path.read_text()) or {}


def option_settings(root: Path) -> dict[str, dict[str, object]]:
    """Every option setting of the tree, by namespace (later files win, as in EB)."""
    merged: dict[str, dict[str, object]] = {}
    for path in config_files(root):
        for namespace, options in (load_config(path).get("option_settings") or {}).items():
            merged.setdefault(namespace, {}).update(options or {})
    return merged


def environment_defaults(root: Path) -> dict[str, str]:
    """The environment variables the configuration gives every instance."""
    return {str(k): str(v) for k, v in option_settings(root).get(ENV_NAMESPACE, {}).items()}
