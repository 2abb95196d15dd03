"""Validation and normalisation of the URLs links point to."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
ASCII_WHITESPACE = " \t\n\r\f\v"
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")  # controls, CR/LF, spaces: never in a Location
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidTarget(ValueError):
    """A target URL we refuse; the message is meant for the person who typed it."""


# Lookalike hosts (docs/input-rules.md). Scripts a label may combine, besides one script alone:
# Japanese, Chinese and Korean names are written with Latin and Han together by design.
_SCRIPT_SETS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}
# Letters of other scripts that look like Latin ones: a label made only of these imitates a
# Latin name ("аррӏе" in Cyrillic) unless the whole name is in that script (".рф").
_LATIN_LOOKALIKES = frozenset("асԁеһіјӏорԛѕԝхуъьҽпгѵѡү" + "αεικνορτυχ")
LOOKALIKE_MESSAGE = (
    "The host name mixes alphabets, or imitates a Latin name with look-alike letters, "
    "as phishing links do; it cannot be shortened."
)


def _script(char: str) -> str | None:
    """The script of a letter (LATIN, CYRILLIC, HAN, …); None for digits and '-'."""
    if not char.isalpha():
        return None
    word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(word, word)


def _scripts(label: str) -> set[str]:
    return {script for script in map(_script, label) if script is not None}


def _check_lookalikes(ascii_host: str) -> None:
    """Refuse a host whose labels mix scripts, or imitate Latin with look-alike letters."""
    if "xn--" not in ascii_host:
        return
    try:
        labels = [label.encode("ascii").decode("idna") for label in ascii_host.split(".")]
    except UnicodeError as exc:
        raise InvalidTarget("The host name is not a valid domain name.") from exc
    tld_scripts = _scripts(labels[-1])
    for label in labels:
        scripts = _scripts(label)
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_SETS):
            raise InvalidTarget(LOOKALIKE_MESSAGE)
        if (
            scripts
            and scripts != {"LATIN"}
            and scripts != tld_scripts
            and all(c in _LATIN_LOOKALIKES for c in label if c.isalpha())
        ):
            raise InvalidTarget(LOOKALIKE_MESSAGE)


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
    _check_lookalikes(ascii_host)
    return ascii_host


def origin_of(url: str) -> tuple[str, int | None]:
    """(host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    host = _normalise_host(parts.hostname or "")
    return host, parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())


def _is_own(host: str, port: int, own_origin: str) -> bool:
    """Whether host:port is this shortener: its origin, or its host on the other default port
    (http://sho.rt/x where BASE_URL is https://sho.rt comes back to us through a redirect)."""
    own_host, own_port = origin_of(own_origin)
    if host != own_host:
        return False
    defaults = _DEFAULT_PORTS.values()
    return port == own_port or (port in defaults and own_port in defaults)


def normalise_target(raw: str, own_origin: str) -> str:
    """Return the URL to redirect to, or raise InvalidTarget with a reason.

    Only http(s), a host required, length bounded, international hosts in punycode, and
    never this shortener's own origin (a link to a short link could loop).
    """
    # ASCII whitespace only: the API's document promises no more (the form strips all of it).
    url = (raw or "").strip(ASCII_WHITESPACE)
    if not url:
        raise InvalidTarget("Please enter a URL to shorten.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidTarget(f"That URL is longer than {MAX_URL_LENGTH} characters.")
    if _FORBIDDEN.search(url):
        raise InvalidTarget("A URL cannot contain spaces or control characters.")
    if not url.isascii():
        try:
            url.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, from JSON's "\ud800"
            raise InvalidTarget("That URL contains characters that are not valid text.") from exc
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
    if _is_own(host, port or _DEFAULT_PORTS[scheme], own_origin):
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


# The blocklist: domains that can never be shortened (BLOCKED_DOMAINS, docs/input-rules.md).
BLOCKED_MESSAGE = "Links to {host} are blocked here: it is on our list of abused domains."
BLOCKED_REDIRECT_MESSAGE = "It points to a site that has since been blocked for abuse."


def blocked_domains(entries: Iterable[str]) -> frozenset[str]:
    """The blocklist from its entries ("example.com", "*.example.com", "bücher.de"), each
    normalised as a target's host is; an entry that is no domain name raises ValueError."""
    domains = set()
    for entry in entries:
        name = entry.strip().lower().removeprefix("*.").lstrip(".")
        if not name or name.startswith("#"):
            continue
        try:
            domains.add(_normalise_host(name))
        except InvalidTarget as exc:
            raise ValueError(f"{entry!r} is not a domain name") from exc
    return frozenset(domains)


def host_of(url: str) -> str:
    """The host of a stored (normalised) target URL."""
    return (urlsplit(url).hostname or "").rstrip(".")


def is_blocked(url: str, blocked: frozenset[str]) -> bool:
    """Whether the target `url` is on a blocked domain or under one. On the redirect path:
    one truth test without a blocklist, else one cache lookup for a URL seen before."""
    return bool(blocked) and _on_blocklist(url, blocked)


@lru_cache(maxsize=16384)
def _on_blocklist(url: str, blocked: frozenset[str]) -> bool:
    name = host_of(url)
    if ":" in name or name.rpartition(".")[2].isdigit():
        return name in blocked  # an IP address: only itself
    while True:
        if name in blocked:
            return True
        dot = name.find(".")
        if dot < 0:
            return False
        name = name[dot + 1 :]
