"""The monitor command: bounded runs, signals, settings errors, failed notifications."""

import signal
import subprocess
import sys
import time

import pytest

from sre.cli import main
from sre.ledger import Ledger
from tests.sre.ledgers import count_rounds
from tests.sre.standin import ADMIN_TOKEN, stand_in
from tests.support.servers import ROOT, free_port


def test_a_bounded_run_records_every_round_and_keeps_the_status_page(tmp_path, capsys):
    ledger, site = tmp_path / "l.sqlite3", tmp_path / "site"
    with stand_in() as server:
        url = f"http://127.0.0.1:{server.server_port}"
        argv = [
            "monitor",
            "--url",
            url,
            "--ledger",
            str(ledger),
            "--interval",
            "0.05",
            "--rounds",
            "3",
            "--admin-token",
            ADMIN_TOKEN,
            "--status-page",
            str(site),
        ]
        assert main(argv) == 0
        assert len(server.state.disabled) == 3
    out = capsys.readouterr().out
    assert "round 3: ok" in out and "version=stand-in-1" in out
    assert "3 rounds, 0 failed; incidents opened 0, resolved 0" in out
    with Ledger(ledger) as book:
        rounds = book.rounds()
        probes = book.probes(r.id for r in rounds)
    assert [r.ok for r in rounds] == [True, True, True]
    assert {p.check for p in probes[rounds[0].id]} == {"readyz", "journey", "cleanup"}
    assert (site / "index.html").is_file() and (site / "status.json").is_file()


def test_an_outage_with_unreachable_channels_still_opens_the_incident(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite3"
    dead = f"http://127.0.0.1:{free_port()}"
    argv = [
        "monitor",
        "--url",
        dead,
        "--ledger",
        str(ledger),
        "--interval",
        "0.01",
        "--duration",
        "0.05",
        "--open-after",
        "2",
        "--timeout",
        "0.5",
        "--webhook",
        f"{dead}/hook",
        "--notify-attempts",
        "2",
        "--notify-backoff",
        "0.01",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "incident #1 opened: readyz: connection failed: Connection refused" in out
    assert "notifications sent 0, failed 1" in out
    with Ledger(ledger) as book:
        [record] = book.notifications(1)
    assert not record.ok and record.attempts == 2


def test_sigterm_stops_the_monitor_between_rounds(tmp_path):
    with stand_in() as server:
        url = f"http://127.0.0.1:{server.server_port}"
        monitor = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sre",
                "monitor",
                "--url",
                url,
                "--interval",
                "30",
                "--ledger",
                str(tmp_path / "l.sqlite3"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while count_rounds(tmp_path / "l.sqlite3") < 1:
                assert time.monotonic() < deadline, "the monitor never finished a round"
                time.sleep(0.05)
            t0 = time.monotonic()
            monitor.send_signal(signal.SIGTERM)
            output, _ = monitor.communicate(timeout=10)
        finally:
            if monitor.poll() is None:
                monitor.kill()
                monitor.wait()
    assert time.monotonic() - t0 < 5  # it did not sit out the 30 s interval
    assert monitor.returncode == 0
    assert "1 rounds, 0 failed" in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--smtp-host", "127.0.0.1"], "email needs"),
        (["--budget-minutes", "-1"], "positive"),
    ],
)
def test_bad_settings_are_refused(tmp_path, capsys, extra, message):
    argv = ["monitor", "--url", "http://127.0.0.1:9", "--ledger", str(tmp_path / "l.sqlite3")]
    assert main(argv + extra) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--interval", "0"], ["--open-after", "0"]])
def test_impossible_numbers_are_refused_by_the_parser(tmp_path, flag):
    argv = ["monitor", "--url", "http://x", "--ledger", str(tmp_path / "l"), *flag]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
