import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shortener.codes import (
    ALPHABET,
    GENERATED_LENGTH,
    RESERVED,
    InvalidCode,
    check_custom_code,
    generate_code,
)


def test_generated_codes_are_short_url_safe_and_not_sequential():
    codes = [generate_code() for _ in range(2000)]
    assert all(len(c) == GENERATED_LENGTH for c in codes)
    assert all(set(c) <= set(string.ascii_letters + string.digits) for c in codes)
    assert len(set(codes)) == len(codes)
    assert sorted(codes) != codes  # not issued in order


def test_generated_codes_use_the_whole_alphabet():
    seen = set("".join(generate_code() for _ in range(2000)))
    assert seen == set(ALPHABET)


@given(st.from_regex(r"[A-Za-z0-9_-]{3,64}", fullmatch=True))
def test_any_name_matching_the_documented_pattern_is_accepted(code):
    if code.lower() in RESERVED:
        with pytest.raises(InvalidCode):
            check_custom_code(code)
    else:
        assert check_custom_code(code) == code


@given(
    st.text(min_size=1, max_size=80).filter(
        lambda s: not all(c in ALPHABET + "_-" for c in s) or not 3 <= len(s) <= 64
    )
)
def test_anything_else_is_refused(code):
    with pytest.raises(InvalidCode):
        check_custom_code(code)


@pytest.mark.parametrize(
    "code",
    ["api", "API", "static", "healthz", "readyz", "metrics", "version", "shorten", "Openapi"],
)
def test_route_names_are_reserved(code):
    with pytest.raises(InvalidCode, match="reserved"):
        check_custom_code(code)


@pytest.mark.parametrize(
    "code", ["ab", "a" * 65, "has space", "dot.ted", "plus+", "slash/x", "ünï", ""]
)
def test_names_breaking_the_pattern_are_refused_with_the_rule(code):
    with pytest.raises(InvalidCode, match="3–64 characters"):
        check_custom_code(code)
