"""The deployment a smoke run talks to, and the marks its links carry."""

from __future__ import annotations

from dataclasses import dataclass, field

USER_AGENT = "shortener-smoke/1"
HEADERS = {"User-Agent": USER_AGENT}
TIMEOUT = 10  # seconds per request: a healthy deployment answers in milliseconds
CODE_PREFIX = "smoke-"
TARGET_PREFIX = "https://example.com/smoke/"


@dataclass
class SmokeTarget:
    """The deployment under test, and the links this run created there."""

    base_url: str
    admin_token: str
    expected_version: str
    created: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path
