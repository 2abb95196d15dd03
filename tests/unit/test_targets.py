import pytest
from hypothesis import given
from hypothesis import strategies as st

from shortener.targets import MAX_URL_LENGTH, InvalidTarget, normalise_target

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
