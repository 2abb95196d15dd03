"""Read the Elastic Beanstalk configuration files (.ebextensions/*.config) of a source tree."""

from __future__ import annotations

from pathlib import Path

import yaml

ENV_NAMESPACE = "aws:elasticbeanstalk:application:environment"


class TolerantLoader(yaml.SafeLoader):
    """safe_load that reads CloudFormation short forms (`!Ref x`) as their plain values."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


TolerantLoader.add_multi_constructor("!", _untagged)


def load_config(path: Path) -> dict:
    """Parse one .ebextensions file (YAML, or JSON which YAML reads too)."""
    # TolerantLoader is a SafeLoader: it builds only plain YAML types.
    return yaml.load(path.read_text(), Loader=TolerantLoader) or {}  # noqa: S506


def config_files(root: Path) -> list[Path]:
    """The .ebextensions files EB reads, in the order it applies them."""
    return sorted((root / ".ebextensions").glob("*.config"))


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
