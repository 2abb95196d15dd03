"""Short codes: random ones we generate, and the rules for names people choose."""

from __future__ import annotations

import re
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
GENERATED_LENGTH = 7  # 62**7 ≈ 3.5e12 codes: collisions are rare and retried
CUSTOM_MIN, CUSTOM_MAX = 3, 64
CUSTOM_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{CUSTOM_MIN},{CUSTOM_MAX}}}")
# A code matching this is routable; the converter in the app uses the same pattern.
ROUTABLE_PATTERN = r"[A-Za-z0-9_-]{1,64}"

# Paths the app serves itself, or may serve one day; compared case-insensitively.
RESERVED = frozenset(
    {
        "admin",
        "api",
        "assets",
        "docs",
        "favicon",
        "health",
        "healthz",
        "help",
        "login",
        "logout",
        "metrics",
        "openapi",
        "qr",
        "readyz",
        "robots",
        "shorten",
        "static",
        "status",
        "version",
    }
)


class InvalidCode(ValueError):
    """A custom name that breaks the documented rules; the message says which."""


def generate_code(length: int = GENERATED_LENGTH) -> str:
    """Return a random code from a cryptographic source (never sequential, never guessable)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def check_custom_code(code: str) -> str:
    """Return `code` if it is a valid custom name, else raise InvalidCode."""
    if not CUSTOM_PATTERN.fullmatch(code):
        raise InvalidCode(
            f"A custom name is {CUSTOM_MIN}–{CUSTOM_MAX} characters: letters, digits, '-' or '_'."
        )
    if code.lower() in RESERVED:
        raise InvalidCode(f"“{code}” is reserved; please choose another name.")
    return code
