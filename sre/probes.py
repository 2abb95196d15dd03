"""Synthetic probes: what a customer does, done from outside, with timeouts.

A round asks `/readyz` and walks the user journey: create a link through the API, follow
it, check the redirect's `Location`. With an admin token the link it made is disabled
again, so production is not cluttered with monitor links.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from sre.ledger import Probe

VERSION_HEADER = "X-App-Version"
# The checks whose failure means customers are affected; cleanup only tidies up after us.
CRITICAL_CHECKS = ("readyz", "journey")
TARGET_PREFIX = "https://example.com/?sre-monitor="
# Links still to disable are kept in memory; a long outage must not grow the list forever.
MAX_LEFTOVERS = 100


# What one check found; the ledger stores it as it is.
ProbeResult = Probe


class CheckFailed(Exception):
    """A probe saw something a customer would call broken.

    Messages carry no per-round detail (codes, timestamps), so that an unchanged outage
    gives an unchanged incident cause and no flood of update notifications.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Check:
    """Time one check and turn its outcome (or any error) into a ProbeResult."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.status: int | None = None
        self.version: str | None = None

    def saw(self, response: requests.Response) -> None:
        self.status = response.status_code
        self.version = response.headers.get(VERSION_HEADER, self.version)

    def run(self, body: Callable[[_Check], None]) -> ProbeResult:
        wall = time.time()
        t0 = time.monotonic()
        error: str | None = None
        try:
            body(self)
        except CheckFailed as exc:
            error = str(exc)
            self.status = exc.status if exc.status is not None else self.status
        except requests.Timeout as exc:
            error = f"timeout: {_short(exc)}"
        except requests.ConnectionError as exc:
            error = f"connection failed: {_short(exc)}"
        except requests.RequestException as exc:
            error = f"request failed: {_short(exc)}"
        latency = (time.monotonic() - t0) * 1000
        return ProbeResult(
            self.name, error is None, round(latency, 1), self.status, error, self.version, wall
        )


def _short(exc: BaseException) -> str:
    """The most telling part of a requests error (they nest urllib3 reprs deeply)."""
    text = str(exc)
    for marker in ("Connection refused", "Read timed out", "Connection reset", "timed out"):
        if marker in text:
            return marker
    return text[:200]


def check_readyz(session: requests.Session, base_url: str, timeout: float) -> ProbeResult:
    """GET /readyz and expect 200."""

    def body(check: _Check) -> None:
        response = session.get(f"{base_url}/readyz", timeout=timeout, allow_redirects=False)
        check.saw(response)
        if response.status_code != 200:
            raise CheckFailed(f"/readyz answered {response.status_code}")

    return _Check("readyz").run(body)


def check_journey(
    session: requests.Session, base_url: str, timeout: float, created: list[str]
) -> ProbeResult:
    """Create a link through the API, follow it, and check the redirect's Location.

    The code of a created link is appended to `created` for the cleanup step.
    """

    def body(check: _Check) -> None:
        target = f"{TARGET_PREFIX}{time.time():.6f}"
        response = session.post(
            f"{base_url}/api/links", json={"url": target}, timeout=timeout, allow_redirects=False
        )
        check.saw(response)
        if response.status_code != 201:
            raise CheckFailed(f"POST /api/links answered {response.status_code}")
        try:
            code = str(response.json()["code"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckFailed("POST /api/links answered 201 without a code") from exc
        created.append(code)
        followed = session.get(f"{base_url}/{code}", timeout=timeout, allow_redirects=False)
        check.saw(followed)
        location = followed.headers.get("Location")
        if not 300 <= followed.status_code < 400:
            raise CheckFailed(f"following a new link answered {followed.status_code}")
        if location != target:
            raise CheckFailed("following a new link redirected elsewhere than the created target")

    return _Check("journey").run(body)


def cleanup_links(
    session: requests.Session, base_url: str, timeout: float, codes: list[str], admin_token: str
) -> tuple[ProbeResult, list[str]]:
    """Disable links (DELETE /api/links/<code> with the admin token).

    Return the outcome and the codes worth trying again later (those that met a server
    error or no answer; a refused token will not get better by retrying).
    """
    retry: list[str] = []

    def body(check: _Check) -> None:
        errors = []
        for code in codes:
            try:
                response = session.delete(
                    f"{base_url}/api/links/{code}",
                    headers={"Authorization": f"Bearer {admin_token}"},
                    timeout=timeout,
                )
            except requests.RequestException as exc:
                retry.append(code)
                errors.append(_short(exc))
                continue
            check.saw(response)
            if response.status_code >= 500:
                retry.append(code)
            if response.status_code >= 300 and response.status_code != 404:
                errors.append(f"DELETE /api/links/<code> answered {response.status_code}")
        if errors:
            raise CheckFailed(f"{len(errors)} of {len(codes)} link(s) not disabled: {errors[0]}")

    return _Check("cleanup").run(body), retry


def probe_round(
    base_url: str,
    timeout: float = 5.0,
    admin_token: str | None = None,
    leftovers: list[str] | None = None,
) -> list[ProbeResult]:
    """Run every check once against `base_url`; never raises for a broken service.

    With `admin_token`, disable the link the journey created, and the codes in `leftovers`
    (links earlier rounds could not disable, e.g. because the service went down between
    creating and disabling); `leftovers` is updated in place to what still needs doing.
    """
    base_url = base_url.rstrip("/")
    created: list[str] = []
    # A fresh session per round: each round pays for a new connection, as a new visitor does.
    with requests.Session() as session:
        session.headers["User-Agent"] = "shortener-sre-monitor"
        results = [
            check_readyz(session, base_url, timeout),
            check_journey(session, base_url, timeout, created),
        ]
        pending = created + (leftovers or [])
        if admin_token and pending:
            result, retry = cleanup_links(session, base_url, timeout, pending, admin_token)
            results.append(result)
            if leftovers is not None:
                leftovers[:] = retry[-MAX_LEFTOVERS:]
    return results


def round_ok(results: list[ProbeResult]) -> bool:
    """True when every check that matters to customers passed."""
    return all(r.ok for r in results if r.check in CRITICAL_CHECKS)


def describe_failure(results: list[ProbeResult]) -> str:
    """One line naming each failed check and why, e.g. for an incident's cause."""
    failed = [f"{r.check}: {r.error}" for r in results if not r.ok and r.check in CRITICAL_CHECKS]
    return "; ".join(failed) if failed else "all checks passed"
