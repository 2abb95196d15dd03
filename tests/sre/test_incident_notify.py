"""Notifications reach a real webhook receiver and a real SMTP server, with retries."""

import argparse
import time

import pytest

from sre.incident_notify import (
    DeliveryError,
    Dispatcher,
    IncidentMessage,
    NotifyConfig,
    SmtpConfig,
    add_notify_arguments,
    deliver,
    notify_config_from,
    with_retries,
)
from sre.incidents import OPENED, RESOLVED
from sre.ledger import Incident, Ledger
from tests.sre.receivers import smtp_server, webhook_receiver
from tests.support.servers import free_port

OPEN = Incident(7, 1.8e9, 1.8e9 + 30, None, None, "journey: POST /api/links answered 500", 0)
CLOSED = Incident(7, 1.8e9, 1.8e9 + 30, 1.8e9 + 95, 1.8e9 + 125, OPEN.cause, 0)


def message(event=OPENED, incident=OPEN) -> IncidentMessage:
    return IncidentMessage(event, incident, "http://short.test", 1100.0, time=1.8e9 + 60)


def test_the_webhook_body_is_slack_compatible_and_says_what_matters():
    body = message().webhook_body()
    assert body["text"].startswith("*Incident #7 opened: http://short.test*")
    fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
    assert fields["Affected"] == "creating short links through the API and following them"
    assert fields["Since"] == "2027-01-15T08:00:00Z"
    assert fields["Current state"] == "down: journey: POST /api/links answered 500"
    assert fields["Error budget left this year"] == "18 min 20 s"
    assert body["incident"]["state"] == "open"
    resolved = message(RESOLVED, CLOSED).webhook_body()
    assert resolved["incident"]["duration_seconds"] == 95
    assert "resolved: service back since 2027-01-15T08:01:35Z" in resolved["text"]


def test_webhook_delivery_retries_with_backoff_until_it_succeeds():
    with webhook_receiver(fail_first=2) as hook:
        config = NotifyConfig(webhooks=(hook.url,), attempts=4, backoff=0.05)
        t0 = time.monotonic()
        [record] = deliver(config, message())
        took = time.monotonic() - t0
        assert hook.bodies[0]["event"] == OPENED
    assert (record.ok, record.attempts, record.channel) == (True, 3, "webhook")
    assert took >= 0.05 + 0.1  # waited backoff, then twice the backoff


def test_webhook_delivery_gives_up_after_the_last_attempt():
    with webhook_receiver(fail_first=10) as hook:
        [record] = deliver(NotifyConfig(webhooks=(hook.url,), attempts=3, backoff=0.01), message())
        assert hook.attempts == 3
    assert not record.ok and record.attempts == 3 and "HTTP 500" in record.error


def test_a_client_error_is_not_retried():
    with webhook_receiver(fail_first=10, fail_status=404) as hook:
        [record] = deliver(NotifyConfig(webhooks=(hook.url,), attempts=4, backoff=0.01), message())
        assert hook.attempts == 1
    assert not record.ok and "HTTP 404" in record.error


def test_an_unreachable_webhook_is_recorded_as_failed():
    url = f"http://127.0.0.1:{free_port()}/hook"
    [record] = deliver(NotifyConfig(webhooks=(url,), attempts=2, backoff=0.01), message())
    assert not record.ok and "ConnectionError" in record.error


def test_email_goes_through_a_real_smtp_server():
    with smtp_server() as (port, mailbox):
        smtp = SmtpConfig("127.0.0.1", port, "monitor@short.test", ("oncall@short.test",))
        [record] = deliver(NotifyConfig(smtp=smtp, attempts=2, backoff=0.01), message())
        [mail] = mailbox.wait_for(1)
    assert record.ok and record.channel == "email"
    assert mail["Subject"] == "[OPENED] Incident #7 opened: http://short.test"
    assert mail["To"] == "oncall@short.test"
    assert "Error budget left this year: 18 min 20 s" in mail.get_payload()


def test_email_to_a_stopped_smtp_server_fails_after_retries():
    smtp = SmtpConfig("127.0.0.1", free_port(), "a@short.test", ("b@short.test",), timeout=1)
    [record] = deliver(NotifyConfig(smtp=smtp, attempts=2, backoff=0.01), message())
    assert not record.ok and record.attempts == 2 and "ConnectionRefusedError" in record.error


def test_the_dispatcher_delivers_in_the_background_and_records_each_delivery(tmp_path):
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as ledger:
        incident = ledger.open_incident(100, 130, OPEN.cause)
    lines = []
    with webhook_receiver() as hook, smtp_server() as (port, mailbox):
        smtp = SmtpConfig("127.0.0.1", port, "monitor@short.test", ("oncall@short.test",))
        config = NotifyConfig(webhooks=(hook.url,), smtp=smtp, attempts=2, backoff=0.01)
        dispatcher = Dispatcher(config, path, 1200.0, report=lines.append)
        dispatcher.submit(message(OPENED, incident))
        dispatcher.close()
        assert len(hook.bodies) == 1 and len(mailbox.messages) == 1
        # The dispatcher measured the budget: no rounds in the ledger, nothing spent.
        assert hook.bodies[0]["budget_left_seconds"] == 1200
    with Ledger(path) as ledger:
        records = ledger.notifications(incident.id)
    assert [(r.channel, r.ok) for r in records] == [("webhook", True), ("email", True)]
    assert dispatcher.sent == 2 and dispatcher.failed == 0
    assert any("sent after 1 attempt" in line for line in lines)


def test_retries_sleep_twice_as_long_each_time():
    waits = []

    def always_fails():
        raise DeliveryError("nope")

    assert with_retries(always_fails, 4, 0.5, sleep=waits.append) == (False, 4, "nope")
    assert waits == [0.5, 1.0, 2.0]


def parse(argv):
    parser = argparse.ArgumentParser()
    add_notify_arguments(parser)
    return notify_config_from(parser.parse_args(argv))


def test_channels_come_from_flags_or_the_environment(monkeypatch):
    config = parse(
        [
            "--webhook",
            "http://a/1",
            "--webhook",
            "http://a/2",
            "--smtp-host",
            "mx",
            "--smtp-port",
            "2525",
            "--mail-from",
            "m@x",
            "--mail-to",
            "o@x",
        ]
    )
    assert config.webhooks == ("http://a/1", "http://a/2")
    assert config.smtp == SmtpConfig("mx", 2525, "m@x", ("o@x",))
    monkeypatch.setenv("SRE_WEBHOOKS", "http://b/1 http://b/2")
    monkeypatch.setenv("SRE_MAIL_TO", "x@y,z@y")
    config = parse(["--smtp-host", "mx", "--mail-from", "m@x"])
    assert config.webhooks == ("http://b/1", "http://b/2")
    assert config.smtp.recipients == ("x@y", "z@y")
    for name in ("SRE_WEBHOOKS", "SRE_MAIL_TO"):
        monkeypatch.delenv(name)
    assert not parse([]).enabled


@pytest.mark.parametrize(
    "argv",
    [["--smtp-host", "mx"], ["--mail-to", "o@x"], ["--notify-attempts", "0"]],
)
def test_half_configured_channels_are_refused(argv, monkeypatch):
    monkeypatch.delenv("SRE_MAIL_TO", raising=False)
    with pytest.raises(ValueError):
        parse(argv)
