"""Property tests: no generated input gets a 500, a refusal stores nothing, and whatever is
accepted redirects to a clean Location. On SQLite and PostgreSQL, one app per kind."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import csrf_token
from tests.web.stored import snapshot

# Modest: a few seconds per database kind in all (docs/input-rules.md).
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text that is most likely to break a URL parser or a template: controls, quotes, markup,
# percent signs, non-ASCII letters of several scripts, and line separators.
NASTY = st.characters(codec="utf-8") | st.sampled_from(
    list("\x00\r\n\t \"'<>%/\\@:#?.[]аеорсхαο例ｅ\u2028\u200b\ufeff")
)
SCHEMES = st.sampled_from(["http", "https", "HTTPS", "javascript", "data", "file", "ftp", ""])
URLS = st.one_of(
    st.text(NASTY, max_size=80),
    st.builds(
        "{}://{}/{}".format,
        SCHEMES,
        st.text(NASTY, max_size=30) | st.from_regex(r"[a-z0-9.-]{1,30}", fullmatch=True),
        st.text(NASTY, max_size=40),
    ),
)
CODES = (
    st.none() | st.text(NASTY, max_size=70) | st.from_regex(r"[A-Za-z0-9_-]{0,70}", fullmatch=True)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(NASTY, max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

CREATED = {201, 303}
REFUSED = {400, 409, 413, 415}


@pytest.fixture
def app(seeded_app):
    return seeded_app


def check(app, before, response, allowed: set[int]) -> None:
    assert response.status_code in allowed, response.get_data(as_text=True)[:300]
    if response.status_code in REFUSED:
        assert snapshot(app) == before, "a refused request changed what is stored"


def assert_clean_redirect(client, code: str) -> None:
    followed = client.get(f"/{code}")
    assert followed.status_code == 302
    location = followed.headers["Location"]
    assert location.startswith(("http://", "https://"))
    assert location.isascii()
    assert not any(ord(c) < 0x21 or ord(c) == 0x7F for c in location)


@PROPERTY
@given(url=URLS, code=CODES)
def test_any_form_post_is_answered_without_a_server_error(app, url, code):
    client = app.test_client()
    fields = {"csrf_token": csrf_token(client), "url": url}
    if code is not None:
        fields["code"] = code
    before = snapshot(app)
    response = client.post("/shorten", data=fields, content_type="multipart/form-data")
    check(app, before, response, CREATED | REFUSED)
    if response.status_code == 303:
        assert_clean_redirect(client, response.headers["Location"].strip("/+"))


@PROPERTY
@given(url=URLS | JSON_VALUES, code=CODES | JSON_VALUES, expires_at=JSON_VALUES | st.text())
def test_any_json_link_is_answered_without_a_server_error(app, url, code, expires_at):
    client = app.test_client()
    before = snapshot(app)
    body = {"url": url, "code": code, "expires_at": expires_at}
    response = client.post("/api/links", json=body)
    check(app, before, response, CREATED | REFUSED)
    assert response.mimetype == "application/json"
    if response.status_code == 201:
        assert_clean_redirect(client, response.get_json()["code"])
    else:
        assert set(response.get_json()["error"]) >= {"type", "message"}


@PROPERTY
@given(
    body=st.binary(max_size=200) | JSON_VALUES.map(str).map(str.encode),
    content_type=st.none()
    | st.sampled_from(["application/json", "multipart/form-data", "text/plain"])
    | st.text(string.printable.strip(), max_size=40),
)
def test_any_api_body_is_answered_without_a_server_error(app, body, content_type):
    client = app.test_client()
    before = snapshot(app)
    response = client.post("/api/links", data=body, content_type=content_type)
    check(app, before, response, CREATED | REFUSED)
    assert response.mimetype == "application/json"


@PROPERTY
@given(
    path=st.text(NASTY, max_size=70),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    prefix=st.sampled_from(["/", "/api/links/", "/api/", "/static/"]),
    suffix=st.sampled_from(["", "+", "/qr.svg", "/"]),
)
def test_any_path_is_answered_without_a_server_error(app, path, method, prefix, suffix):
    client = app.test_client()
    before = snapshot(app)
    # No leading "/": the test client would read "//…" as a host name, not a path.
    url = prefix + quote(path.lstrip("/"), safe="/+") + suffix
    response = client.open(url, method=method)
    assert response.status_code < 500, (method, path)
    assert response.status_code in {200, 302, 308, 400, 401, 404, 405, 410}
    if response.status_code >= 400:
        assert snapshot(app) == before
