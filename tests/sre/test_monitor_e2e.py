"""The whole promise, end to end: the monitor watches the real app (gunicorn, as the
Procfile runs it), the app is stopped and restarted, and the incident is opened, notified
by webhook and email, resolved, shown on the status page and drafted as a postmortem."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sre.cli import main
from sre.ledger import Ledger
from tests.sre.ledgers import count_rounds
from tests.sre.receivers import smtp_server, webhook_receiver
from tests.support.servers import ROOT, VENV_BIN, free_port, gunicorn_app, wait_http

pytestmark = [pytest.mark.gunicorn, pytest.mark.slow]

ADMIN_TOKEN = "e2e-admin-token"
INTERVAL = 0.5
# Generous: a refused connection fails at once, and a loaded CI machine must not time out.
TIMEOUT = 5
OUTAGE = 4.0  # seconds the app stays stopped


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def app_environment(tmp_path: Path) -> dict[str, str]:
    """Environment of a migrated app on a fresh SQLite database, on a fixed port."""
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SECRET_KEY": "e2e-secret",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "RATE_LIMIT_CREATE": "100000/minute",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "TEST_LOG_DIR": str(tmp_path),
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
    }
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "application", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


def test_an_outage_is_detected_notified_resolved_published_and_drafted(tmp_path):
    env = app_environment(tmp_path)
    base_url = env["BASE_URL"]
    port = int(base_url.rsplit(":", 1)[1])
    ledger = tmp_path / "ledger.sqlite3"
    status_dir = tmp_path / "status"
    with webhook_receiver() as hook, smtp_server() as (smtp_port, mailbox):
        flags = (
            f"--url {base_url} --ledger {ledger} --interval {INTERVAL} --timeout {TIMEOUT}"
            f" --open-after 2 --close-after 2 --admin-token {ADMIN_TOKEN} --duration 120"
            f" --webhook {hook.url} --smtp-host 127.0.0.1 --smtp-port {smtp_port}"
            " --mail-from monitor@sho.rt --mail-to customer@example.org --notify-backoff 0.1"
            f" --status-page {status_dir}"
        )
        command = [sys.executable, "-m", "sre", "monitor", *flags.split()]
        monitor: subprocess.Popen | None = None
        try:
            with gunicorn_app(env, workers=1, port=port):
                # The first request pays for imports; the monitor should not count that.
                wait_http(f"{base_url}/readyz", timeout=30)
                monitor = subprocess.Popen(
                    command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
                wait_until(lambda: count_rounds(ledger, ok=True) >= 3, 20, "three good rounds")
                stopping = time.time()
            stopped = time.time()
            opened = hook.wait_for(lambda got: len(got) >= 1, timeout=20)
            assert opened[0]["event"] == "opened"
            assert mailbox.wait_for(1, timeout=20)[0]["Subject"].startswith("[OPENED] Incident #1")
            time.sleep(max(0.0, stopped + OUTAGE - time.time()))
            restarting = time.time()
            with gunicorn_app(env, workers=1, port=port):
                back = time.time()
                bodies = hook.wait_for(lambda got: got[-1]["event"] == "resolved", timeout=20)
                mailbox.wait_for(len(bodies), timeout=20)
                monitor.send_signal(signal.SIGTERM)
                output, _ = monitor.communicate(timeout=30)
        finally:
            if monitor is not None and monitor.poll() is None:
                monitor.kill()
                monitor.wait()
    assert monitor.returncode == 0, output
    assert "incidents opened 1, resolved 1" in output

    # The incident lasted from the stop to the restart, give or take a round.
    with Ledger(ledger) as book:
        [incident] = book.incidents()
        notified = book.notifications(incident.id)
    assert incident.resolved is not None
    # A round already under way when the app stopped counts from its own start.
    first_failure_lead = max(0.0, stopping - incident.started)
    assert first_failure_lead <= 4 * TIMEOUT  # at most one round's worth of requests
    assert incident.started <= stopped + INTERVAL + 2.0
    # gunicorn listens (and queues connections) before its worker has booted.
    assert restarting <= incident.recovered <= back + INTERVAL + 2.0
    assert incident.duration(now=0) >= OUTAGE - INTERVAL
    slack = first_failure_lead + (stopped - stopping) + (back - restarting) + 2 * INTERVAL
    assert abs(incident.duration(now=0) - (back - stopping)) <= slack
    # While gunicorn boots, the cause may change (refused, then timed out): an update each.
    events = [body["event"] for body in bodies]
    assert events[0] == "opened" and events[-1] == "resolved"
    assert set(events[1:-1]) <= {"updated"}
    assert [(n.event, n.channel, n.ok) for n in notified] == [
        (event, channel, True) for event in events for channel in ("webhook", "email")
    ]
    resolved_body = bodies[-1]["incident"]
    assert resolved_body["duration_seconds"] == pytest.approx(incident.duration(now=0), abs=0.01)
    assert "connection failed" in bodies[0]["incident"]["cause"]

    # The monitor cleaned up after itself: every link it made is disabled.
    with sqlite3.connect(tmp_path / "app.db") as conn:
        total, active = conn.execute(
            "SELECT COUNT(*), SUM(disabled_at IS NULL) FROM links"
        ).fetchone()
    assert total >= 5 and active == 0

    # The status page the monitor kept shows the incident as past, and the state as up.
    status = json.loads((status_dir / "status.json").read_text())
    assert status["state"] == "operational"
    assert [i["id"] for i in status["incidents"]["past"]] == [1]
    assert status["incidents"]["open"] == []
    assert status["budget"]["downtime_seconds"] == pytest.approx(
        incident.duration(now=0), abs=2 * INTERVAL
    )
    assert "#1" in (status_dir / "index.html").read_text()

    # The postmortem draft carries the same duration and the notifications.
    draft = tmp_path / "postmortem.md"
    assert (
        main(
            [
                "postmortem",
                "1",
                "--ledger",
                str(ledger),
                "--out",
                str(draft),
                "--deploy-log",
                str(tmp_path / "no-deploy-log.jsonl"),
            ]
        )
        == 0
    )
    text = draft.read_text()
    seconds = incident.duration(now=0)
    assert f"| Duration | {human(seconds)} ({seconds:.1f} s) |" in text
    assert "notified (opened) by email to customer@example.org: sent" in text
    assert "### 5. What will prevent it from happening again?" in text


def human(seconds: float) -> str:
    from sre.timeline import human_duration

    return human_duration(seconds)
