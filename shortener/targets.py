"""Validation and normalisation of the URLs links point to."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")  # controls, CR/LF, spaces: never in a Location
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidTarget(ValueError):
    """A target URL we refuse; the message is meant for the person who typed it."""


def _normalise_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if not host:
        raise InvalidTarget("The link needs a host name, like https://example.com/page.")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidTarget("The host name is not a valid domain name.") from exc
    labels = ascii_host.split(".")
    if any(not label or len(label) > 63 for label in labels) or len(ascii_host) > 253:
        raise InvalidTarget("The host name is not a valid domain name.")
    if not all(re.fullmatch(r"[a-z0-9-]+", label) for label in labels):
        raise InvalidTarget("The host name has characters a domain name cannot have.")
    return ascii_host


def origin_of(url: str) -> tuple[str, int | None]:
    """(host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    host = _normalise_host(parts.hostname or "")
    return host, parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())


def normalise_target(raw: str, own_origin: str) -> str:
    """Return the URL to redirect to, or raise InvalidTarget with a reason.

    Only http(s), a host required, length bounded, international hosts in punycode, and
    never this shortener's own origin (a link to a short link could loop).
    """
    url = (raw or "").strip()
    if not url:
        raise InvalidTarget("Please enter a URL to shorten.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidTarget(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    if _FORBIDDEN.search(url):
        raise InvalidTarget("A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidTarget("That URL is not well formed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidTarget("Only http:// and https:// links can be shortened.")
    if parts.username is not None or parts.password is not None:
        raise InvalidTarget("Links with a user name or password in them are not accepted.")
    host = _normalise_host(parts.hostname or "")
    if (host, port or _DEFAULT_PORTS[scheme]) == origin_of(own_origin):
        raise InvalidTarget("That is already a short link of ours.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    # Percent-encode what is not ASCII; keep what is already encoded as it is.
    safe = "/:@!$&'()*+,;=-._~%?#[]"
    path = quote(parts.path or "/", safe=safe)
    query = quote(parts.query, safe=safe)
    fragment = quote(parts.fragment, safe=safe)
    normalised = urlunsplit((scheme, netloc, path, query, fragment))
    if len(normalised) > MAX_URL_LENGTH:
        raise InvalidTarget(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    return normalised
