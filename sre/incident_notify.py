"""Tell people about incidents: JSON to webhooks (Slack-compatible) and email over SMTP.

Every delivery is retried with exponential backoff and written to the ledger, so the
postmortem can say when the customer was told. Deliveries run on a background thread: a
slow webhook must not stall the monitor, whose stalls would show up as unknown time.
"""

from __future__ import annotations

import argparse
import os
import queue
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path

import requests

from sre.budget import budget_report
from sre.incidents import OPENED, RESOLVED, IncidentEvent
from sre.ledger import Incident, Ledger, Notification
from sre.timeline import human_duration, iso

COLORS = {OPENED: "#d4351c", RESOLVED: "#2e7d32"}
AFFECTED = {
    "readyz": "the service's readiness (database and schema)",
    "journey": "creating short links through the API and following them",
}


class DeliveryError(Exception):
    """A delivery failed; `retry` says whether trying again could help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 10.0


@dataclass(frozen=True)
class NotifyConfig:
    """Where to send incident messages, and how hard to try."""

    webhooks: tuple[str, ...] = ()
    smtp: SmtpConfig | None = None
    attempts: int = 4
    backoff: float = 1.0
    timeout: float = 5.0

    @property
    def enabled(self) -> bool:
        return bool(self.webhooks or self.smtp)


@dataclass(frozen=True)
class IncidentMessage:
    """What every channel says about one event."""

    event: str
    incident: Incident
    service: str
    budget_left_seconds: float
    time: float = field(default_factory=time.time)

    @property
    def affected(self) -> str:
        parts = [text for check, text in AFFECTED.items() if f"{check}:" in self.incident.cause]
        return "; ".join(parts) or "the service"

    @property
    def state(self) -> str:
        if self.event == RESOLVED:
            return f"resolved: service back since {iso(self.incident.recovered)}"
        return f"down: {self.incident.cause}"

    @property
    def title(self) -> str:
        return f"Incident #{self.incident.id} {self.event}: {self.service}"

    def fields(self) -> list[tuple[str, str]]:
        duration = human_duration(self.incident.duration(self.time))
        return [
            ("Affected", self.affected),
            ("Since", iso(self.incident.started) or ""),
            ("Current state", self.state),
            ("Duration", duration + ("" if self.event == RESOLVED else " so far")),
            ("Error budget left this year", human_duration(self.budget_left_seconds)),
        ]

    def webhook_body(self) -> dict:
        """Slack-compatible (`text` plus an attachment with fields) and machine-readable."""
        fields = self.fields()
        return {
            "text": f"*{self.title}*\n" + "\n".join(f"{k}: {v}" for k, v in fields),
            "attachments": [
                {
                    "color": COLORS.get(self.event, "#f0ad4e"),
                    "fields": [{"title": k, "value": v, "short": False} for k, v in fields],
                }
            ],
            "event": self.event,
            "incident": {
                "id": self.incident.id,
                "service": self.service,
                "affected": self.affected,
                "since": iso(self.incident.started),
                "state": "resolved" if self.event == RESOLVED else "open",
                "cause": self.incident.cause,
                "recovered": iso(self.incident.recovered),
                "duration_seconds": round(self.incident.duration(self.time), 3),
            },
            "budget_left_seconds": round(self.budget_left_seconds, 3),
        }

    def email(self, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"[{self.event.upper()}] {self.title}"
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        body = [self.title, ""] + [f"{k}: {v}" for k, v in self.fields()]
        message.set_content("\n".join(body) + "\n")
        return message


def with_retries(
    send: Callable[[], None],
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, str | None]:
    """Call `send` until it succeeds, waiting backoff, 2*backoff, ... between tries.

    Return (delivered, attempts made, last error).
    """
    error: str | None = None
    for attempt in range(1, attempts + 1):
        try:
            send()
            return True, attempt, None
        except DeliveryError as exc:
            error = str(exc)
            if not exc.retry:
                return False, attempt, error
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return False, attempts, error


def post_webhook(url: str, body: dict, timeout: float) -> None:
    """POST `body` as JSON; raise DeliveryError unless the receiver answers 2xx."""
    try:
        response = requests.post(url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        # 4xx (but 408/429) means the request itself is wrong: trying again will not help.
        retry = response.status_code >= 500 or response.status_code in (408, 429)
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", retry=retry)


def send_email(config: SmtpConfig, message: EmailMessage) -> None:
    """Send through the SMTP server; raise DeliveryError on any failure."""
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def deliver(config: NotifyConfig, message: IncidentMessage) -> list[Notification]:
    """Send `message` on every channel; return one record per channel."""
    records = []
    body = message.webhook_body()
    for url in config.webhooks:
        ok, attempts, error = with_retries(
            lambda url=url: post_webhook(url, body, config.timeout), config.attempts, config.backoff
        )
        records.append(
            Notification(
                time.time(), message.incident.id, message.event, "webhook", url, ok, attempts, error
            )
        )
    if config.smtp is not None:
        smtp = config.smtp
        email = message.email(smtp.sender, smtp.recipients)
        ok, attempts, error = with_retries(
            lambda: send_email(smtp, email), config.attempts, config.backoff
        )
        records.append(
            Notification(
                time.time(),
                message.incident.id,
                message.event,
                "email",
                ", ".join(smtp.recipients),
                ok,
                attempts,
                error,
            )
        )
    return records


class Dispatcher:
    """Deliver messages on a background thread and record each delivery in the ledger."""

    def __init__(
        self,
        config: NotifyConfig,
        ledger_path: Path,
        budget_seconds: float,
        report: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.ledger_path = ledger_path
        self.budget_seconds = budget_seconds
        self.report = report
        self.queue: queue.Queue[IncidentMessage | None] = queue.Queue()
        self.sent = 0
        self.failed = 0
        self.thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self.thread.start()

    def submit(self, message: IncidentMessage) -> None:
        if self.config.enabled:
            self.queue.put(message)

    def close(self, timeout: float = 60.0) -> None:
        """Deliver what is queued (waiting up to `timeout` seconds), then stop."""
        self.queue.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        # SQLite connections belong to the thread that opened them.
        with Ledger(self.ledger_path) as ledger:
            while (message := self.queue.get()) is not None:
                # Measured here, not by the monitor: a year of rounds takes seconds to sum.
                left = budget_report(ledger, self.budget_seconds).budget_left_seconds
                for record in deliver(self.config, replace(message, budget_left_seconds=left)):
                    ledger.record_notification(record)
                    if record.ok:
                        self.sent += 1
                    else:
                        self.failed += 1
                    outcome = "sent" if record.ok else f"FAILED ({record.error})"
                    self.report(
                        f"notify {record.channel} {record.target}: incident #{record.incident_id}"
                        f" {record.event} {outcome} after {record.attempts} attempt(s)"
                    )


def _env_list(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").replace(",", " ").split() if item]


def add_notify_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags (with environment fallbacks) for the notification channels."""
    group = parser.add_argument_group("notifications")
    group.add_argument(
        "--webhook",
        action="append",
        default=None,
        metavar="URL",
        help="POST incident messages here (repeatable; env SRE_WEBHOOKS, space-separated)",
    )
    group.add_argument(
        "--smtp-host",
        default=os.environ.get("SRE_SMTP_HOST"),
        help="SMTP server for email (env SRE_SMTP_HOST)",
    )
    group.add_argument(
        "--smtp-port",
        type=int,
        default=int(os.environ.get("SRE_SMTP_PORT", 25)),
        help="SMTP port (env SRE_SMTP_PORT; default 25)",
    )
    group.add_argument(
        "--mail-from",
        default=os.environ.get("SRE_MAIL_FROM"),
        help="sender address (env SRE_MAIL_FROM)",
    )
    group.add_argument(
        "--mail-to",
        action="append",
        default=None,
        metavar="ADDRESS",
        help="recipient (repeatable; env SRE_MAIL_TO, comma-separated)",
    )
    group.add_argument(
        "--notify-attempts", type=int, default=4, help="tries per message and channel (default 4)"
    )
    group.add_argument(
        "--notify-backoff",
        type=float,
        default=1.0,
        help="seconds before the first retry; doubles each time (default 1)",
    )


def notify_config_from(args: argparse.Namespace) -> NotifyConfig:
    """Build the channels from the parsed flags; raise ValueError if email is half set up."""
    webhooks = tuple(args.webhook or _env_list("SRE_WEBHOOKS"))
    recipients = tuple(args.mail_to or _env_list("SRE_MAIL_TO"))
    smtp = None
    if args.smtp_host or recipients:
        if not (args.smtp_host and recipients and args.mail_from):
            raise ValueError("email needs --smtp-host, --mail-from and at least one --mail-to")
        smtp = SmtpConfig(args.smtp_host, args.smtp_port, args.mail_from, recipients)
    if args.notify_attempts < 1:
        raise ValueError("--notify-attempts must be at least 1")
    return NotifyConfig(webhooks, smtp, args.notify_attempts, args.notify_backoff)


def message_for(event: IncidentEvent, service: str) -> IncidentMessage:
    """The message for an event; the dispatcher adds the budget left when it sends it."""
    return IncidentMessage(event.kind, event.incident, service, budget_left_seconds=0.0)
