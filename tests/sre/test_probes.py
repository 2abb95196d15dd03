"""The probes against a stand-in server that breaks in the ways deployments break."""

import pytest

from sre.probes import TARGET_PREFIX, describe_failure, probe_round, round_ok
from tests.sre.standin import ADMIN_TOKEN, StandInState, stand_in
from tests.support.servers import free_port


@pytest.fixture
def server():
    with stand_in() as server:
        yield server


def url(server) -> str:
    return f"http://127.0.0.1:{server.server_port}"


def by_check(results):
    return {r.check: r for r in results}


def test_a_healthy_service_passes_every_check(server):
    results = by_check(probe_round(url(server), timeout=2))
    assert round_ok(list(results.values()))
    assert results["readyz"].status == 200
    assert results["journey"].status == 302
    assert results["journey"].version == "stand-in-1"
    assert results["journey"].latency_ms > 0
    assert "cleanup" not in results
    assert all(t.startswith(TARGET_PREFIX) for t in server.state.links.values())
    assert server.state.disabled == set()


def test_with_an_admin_token_the_link_is_disabled_afterwards(server):
    results = by_check(probe_round(url(server), timeout=2, admin_token=ADMIN_TOKEN))
    assert results["cleanup"].ok
    assert server.state.disabled == set(server.state.links)


def test_a_refused_cleanup_is_recorded_but_does_not_fail_the_round(server):
    results = probe_round(url(server), timeout=2, admin_token="wrong")
    assert round_ok(results)
    cleanup = by_check(results)["cleanup"]
    assert not cleanup.ok and cleanup.status == 403


@pytest.mark.parametrize(
    ("mode", "check", "error"),
    [
        ("readyz-503", "readyz", "/readyz answered 503"),
        ("create-500", "journey", "POST /api/links answered 500"),
        ("forget", "journey", "following a new link answered 404"),
        ("no-code", "journey", "POST /api/links answered 201 without a code"),
        ("wrong-location", "journey", "redirected elsewhere than the created target"),
    ],
)
def test_each_kind_of_breakage_fails_its_check(server, mode, check, error):
    server.state.mode = mode
    results = probe_round(url(server), timeout=2)
    assert not round_ok(results)
    failed = by_check(results)[check]
    assert not failed.ok
    assert error in failed.error
    assert describe_failure(results).startswith(f"{check}: ")


def test_a_slow_service_times_out():
    state = StandInState()
    state.mode, state.delay = "slow", 1.0
    with stand_in(state=state) as server:
        results = by_check(probe_round(url(server), timeout=0.2))
    assert results["readyz"].error.startswith("timeout")
    assert results["readyz"].latency_ms < 900


def test_a_stopped_service_is_refused():
    results = probe_round(f"http://127.0.0.1:{free_port()}", timeout=1)
    assert not round_ok(results)
    assert describe_failure(results) == (
        "readyz: connection failed: Connection refused; "
        "journey: connection failed: Connection refused"
    )


def test_links_that_could_not_be_disabled_are_retried_next_round():
    port = free_port()
    leftovers = ["made-before-the-outage"]
    results = probe_round(f"http://127.0.0.1:{port}", 1, ADMIN_TOKEN, leftovers)
    assert "cleanup" in by_check(results) and leftovers == ["made-before-the-outage"]
    with stand_in(port) as server:
        server.state.links["made-before-the-outage"] = "https://example.com/"
        results = by_check(probe_round(url(server), 2, ADMIN_TOKEN, leftovers))
        assert results["cleanup"].ok
        assert "made-before-the-outage" in server.state.disabled
    assert leftovers == []


def test_a_server_error_while_disabling_keeps_the_code_for_later(server):
    server.state.mode = "delete-500"
    leftovers: list[str] = []
    results = by_check(probe_round(url(server), 2, ADMIN_TOKEN, leftovers))
    assert not results["cleanup"].ok
    assert "1 of 1 link(s) not disabled: DELETE /api/links/<code> answered 500" in (
        results["cleanup"].error
    )
    assert leftovers == list(server.state.links)
