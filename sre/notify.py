"""`make notify MESSAGE=...`: tell the on-call channel, through a chat webhook.

NOTIFY_WEBHOOK is an incoming-webhook URL (Slack, Mattermost and Teams accept the same
`{"text": ...}` body). Without it the message is only printed: a developer's machine has
no channel, and a missing webhook must not hide the failure being reported.
"""

from __future__ import annotations

import argparse
import os
import sys

import requests


class NotifyError(RuntimeError):
    """The webhook did not accept the message."""


def notify(message: str, webhook: str | None = None, timeout: float = 10.0) -> bool:
    """Post `message` to the webhook and return True; return False when none is set."""
    webhook = webhook if webhook is not None else os.environ.get("NOTIFY_WEBHOOK", "")
    if not webhook:
        return False
    if not webhook.startswith(("https://", "http://")):
        raise NotifyError("NOTIFY_WEBHOOK must be an http(s) URL")
    try:
        response = requests.post(webhook, json={"text": message}, timeout=timeout)
    except requests.RequestException as exc:
        raise NotifyError(f"the webhook is unreachable: {exc}") from exc
    if response.status_code >= 300:
        raise NotifyError(f"the webhook answered {response.status_code}")
    return True


def run(args: argparse.Namespace) -> int:
    print(f"notify: {args.message}")
    try:
        sent = notify(args.message)
    except NotifyError as exc:
        print(f"notify: could not send: {exc}", file=sys.stderr)
        return 1
    if not sent:
        print("notify: NOTIFY_WEBHOOK is not set; printed only", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notify", help="post a message to NOTIFY_WEBHOOK")
    parser.add_argument("message", help="the text to send")
    parser.set_defaults(func=run)
