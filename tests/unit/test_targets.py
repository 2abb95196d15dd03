import pytest
from hypothesis import given
from hypothesis import strategies as st

from shortener.config import ConfigError, from_environment
from shortener.targets import (
    MAX_URL_LENGTH,
    InvalidTarget,
    blocked_domains,
    is_blocked,
    normalise_target,
)

OWN = "https://sho.rt"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/a?b=c#d", "https://example.com/a?b=c#d"),
        ("  https://example.com/path  ", "https://example.com/path"),
        ("HTTPS://EXAMPLE.com", "https://example.com/"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
        ("http://127.0.0.1:9000/target", "http://127.0.0.1:9000/target"),
        ("https://sho.rt:8443/elsewhere", "https://sho.rt:8443/elsewhere"),
        # International names in punycode; one script per label, or Latin with Han and kana.
        ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
        ("https://аррӏе.рф/", "https://xn--80ak6aa92e.xn--p1ai/"),
        ("https://例え.jp/", "https://xn--r8jz45g.jp/"),
        ("https://東京abc.jp/", "https://xn--abc-dm9di64i.jp/"),
        ("https://παράδειγμα.δοκιμή/", "https://xn--hxajbheg2az3al.xn--jxalpdlp/"),
        ("https://ｅｘａｍｐｌｅ.com/", "https://example.com/"),
    ],
)
def test_valid_targets_are_normalised(raw, expected):
    assert normalise_target(raw, OWN) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "Please enter a URL"),
        ("   ", "Please enter a URL"),
        ("example.com", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("ftp://example.com/f", "Only http:// and https://"),
        ("data:text/html,hi", "Only http:// and https://"),
        ("https://", "needs a host"),
        ("https:///path", "needs a host"),
        ("https://exa mple.com", "spaces or control"),
        ("https://example.com/\r\nSet-Cookie: x=1", "spaces or control"),
        ("https://example.com/\x00", "spaces or control"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://example.com:99999/", "not well formed"),
        ("https://exa_mple.com/", "characters a domain name cannot have"),
        ("https://sho.rt/abc", "already a short link"),
        ("https://SHO.RT./abc", "already a short link"),
        ("https://" + "a" * 64 + ".com/", "not a valid domain"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "longer than"),
        ("http://sho.rt/abc", "already a short link"),  # http→https on our host: a loop
        ("https://sho.rt:443/abc", "already a short link"),
        ("https://e.com/\ud800", "not valid text"),
        # Look-alike hosts: mixed scripts in a label, or a Latin name spelt in Cyrillic.
        ("https://exаmple.com/", "mixes alphabets"),
        ("https://pаypal.com/", "mixes alphabets"),
        ("https://аррӏе.com/", "look-alike"),
        ("https://xn--80ak6aa92e.com/", "look-alike"),
        ("https://ѕсоре.org/", "look-alike"),
        ("https://xn--zz.com/", "not a valid domain"),
    ],
)
def test_invalid_targets_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidTarget, match=reason):
        normalise_target(raw, OWN)


@given(st.text(max_size=300))
def test_no_input_crashes_and_no_control_character_survives(raw):
    try:
        result = normalise_target(raw, OWN)
    except InvalidTarget:
        return
    assert result.startswith(("http://", "https://"))
    assert not any(ord(c) < 0x21 or ord(c) == 0x7F for c in result)
    assert result.isascii()


@given(
    st.from_regex(r"https?://[a-z]{1,20}\.(com|org|net)(/[a-zA-Z0-9/_.-]{0,40})?", fullmatch=True)
)
def test_ordinary_urls_are_accepted_and_stable(raw):
    once = normalise_target(raw, OWN)
    assert normalise_target(once, OWN) == once


def test_blocking_a_domain_blocks_its_subdomains_and_nothing_else():
    blocked = blocked_domains(["evil.example", "*.bad.example", ".worse.example", "bücher.de"])
    assert blocked == {"evil.example", "bad.example", "worse.example", "xn--bcher-kva.de"}
    for url in (
        "https://evil.example/",
        "https://a.b.evil.example/x?y",
        "http://bad.example/",
        "https://www.worse.example/",
        "https://xn--bcher-kva.de/",
    ):
        assert is_blocked(url, blocked), url
    for url in ("https://notevil.example/", "https://evil.example.org/", "https://example/"):
        assert not is_blocked(url, blocked), url
    assert not is_blocked("https://evil.example/", frozenset())


def test_blocked_addresses_match_only_themselves():
    blocked = blocked_domains(["10.1.2.3"])
    assert is_blocked("http://10.1.2.3/", blocked)
    assert not is_blocked("http://110.1.2.3/", blocked)
    assert not is_blocked("http://[::1]/", blocked)


def test_the_blocklist_comes_from_the_environment_and_a_file(tmp_path):
    listed = tmp_path / "blocked.txt"
    listed.write_text("# phishing, 2026-11\nfile.example  # reported twice\n\nOTHER.example\n")
    env = {"BLOCKED_DOMAINS": "a.example, b.example c.example", "BLOCKED_DOMAINS_FILE": str(listed)}
    config = from_environment(tmp_path, env)
    assert config["BLOCKED_DOMAINS"] == {
        "a.example",
        "b.example",
        "c.example",
        "file.example",
        "other.example",
    }
    assert from_environment(tmp_path, {})["BLOCKED_DOMAINS"] == frozenset()


@pytest.mark.parametrize(
    "env",
    [
        {"BLOCKED_DOMAINS": "not a_domain!"},
        {"BLOCKED_DOMAINS_FILE": "/nonexistent/blocked.txt"},
    ],
)
def test_a_blocklist_that_cannot_be_read_stops_the_start(tmp_path, env):
    with pytest.raises(ConfigError, match="BLOCKED_DOMAINS"):
        from_environment(tmp_path, env)
