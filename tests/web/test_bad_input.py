"""Bad input, as tables: every case through the form and the API, with its exact status and
message, never a 500, and nothing stored changed (docs/input-rules.md)."""

from __future__ import annotations

import io

import pytest
from markupsafe import escape

from shortener.targets import MAX_URL_LENGTH
from shortener.views.api import MAX_JSON_BYTES
from tests.conftest import BASE_URL, csrf_token
from tests.web.stored import assert_unchanged, snapshot

# ---------------------------------------------------------------------------------------
# Targets: (url, what the message says). Each is posted through the form and the API.
ONLY_HTTP = "Only http:// and https:// links can be shortened."
NO_HOST = "The link needs a host name"
SPACES = "A URL cannot contain spaces or control characters."
CREDENTIALS = "Links with a user name or password in them are not accepted."
OURS = "That is already a short link of ours."
LOOKALIKE = "imitates a Latin name with look-alike letters"
BAD_HOST = "The host name has characters a domain name cannot have."
MALFORMED = "That URL is not well formed."
TOO_LONG = f"That URL is longer than {MAX_URL_LENGTH} characters."

BAD_TARGETS = {
    "javascript": ("javascript:alert(1)", ONLY_HTTP),
    "javascript-mixed-case": ("JaVaScRiPt:alert(document.cookie)", ONLY_HTTP),
    "javascript-leading-spaces": ("   javascript:alert(1)", ONLY_HTTP),
    "javascript-leading-tab": ("\tjavascript:alert(1)", ONLY_HTTP),
    "javascript-percent-encoded": ("%6Aavascript:alert(1)", ONLY_HTTP),
    "javascript-encoded-newline": ("java%0Ascript:alert(1)", ONLY_HTTP),
    "javascript-entity": ("&#106;avascript:alert(1)", ONLY_HTTP),
    "data-html": ("data:text/html,<script>alert(1)</script>", ONLY_HTTP),
    "data-base64": ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", ONLY_HTTP),
    "file": ("file:///etc/passwd", ONLY_HTTP),
    "vbscript": ("VBScript:MsgBox(1)", ONLY_HTTP),
    "ftp": ("ftp://example.com/file", ONLY_HTTP),
    "scheme-relative": ("//example.com/path", ONLY_HTTP),
    "no-scheme": ("example.com/path", ONLY_HTTP),
    "html-instead-of-url": ("<script>alert(1)</script>", ONLY_HTTP),
    "empty": ("", "Please enter a URL to shorten."),
    "only-spaces": ("   ", "Please enter a URL to shorten."),
    "no-host": ("https://", NO_HOST),
    "no-host-with-path": ("https:///path", NO_HOST),
    "no-slashes": ("http:example.com", NO_HOST),
    "credentials": ("https://user:secret@example.com/", CREDENTIALS),
    "user-only": ("https://user@example.com/", CREDENTIALS),
    "credentials-disguise": ("https://www.nike.com@evil.example/login", CREDENTIALS),
    "huge": ("https://example.com/" + "a" * 5000, TOO_LONG),
    "crlf-header-injection": ("https://example.com/\r\nSet-Cookie: stolen=1", SPACES),
    "lf-only": ("https://example.com/a\nLocation: https://evil.example/", SPACES),
    "nul": ("https://example.com/\x00", SPACES),
    "del": ("https://example.com/\x7f", SPACES),
    "space-in-host": ("https://exa mple.com/", SPACES),
    "mixed-script-host": ("https://exаmple.com/", "mixes alphabets"),  # Cyrillic а
    "cyrillic-lookalike": ("https://аррӏе.com/", LOOKALIKE),
    "cyrillic-lookalike-punycode": ("https://xn--80ak6aa92e.com/", LOOKALIKE),
    "invalid-punycode": ("https://xn--zz.com/", "The host name is not a valid domain name."),
    "percent-encoded-host": ("https://%65xample.com/", BAD_HOST),
    "underscore-host": ("https://ex_ample.com/", BAD_HOST),
    "label-too-long": ("https://" + "a" * 64 + ".com/", "The host name is not a valid domain"),
    "port-out-of-range": ("https://example.com:99999/", MALFORMED),
    "broken-ipv6": ("https://[::1/", MALFORMED),
    "own-short-link": (f"{BASE_URL}/abc", OURS),
    "own-host-upper-case-dot": ("http://SHO.RT./abc", OURS),
    "own-host-other-scheme": ("https://sho.rt/abc", OURS),
    "own-host-explicit-port": ("http://sho.rt:80/abc", OURS),
}


def form_post(client, **fields):
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post("/shorten", data=data, content_type="multipart/form-data")


def assert_form_error(response, status: int, message: str, field: str):
    """The form again, with the message beside the field and nothing raw from the input."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:300]
    assert response.mimetype == "text/html"
    assert str(escape(message)) in html
    assert f'id="{field}-error"' in html
    return html


def assert_api_error(response, status: int, message: str, field: str | None, kind: str):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["type"] == kind
    assert message in error["message"]
    assert error.get("field") == field
    return error


@pytest.fixture
def app(seeded_app):
    """One app per database kind for the whole module (tests/web/conftest.py)."""
    return seeded_app


@pytest.fixture
def seeded(app):
    """Everything stored before the case, to compare with afterwards."""
    return snapshot(app)


@pytest.mark.parametrize(("url", "message"), BAD_TARGETS.values(), ids=BAD_TARGETS.keys())
def test_bad_target_through_the_form(app, client, seeded, url, message):
    html = assert_form_error(form_post(client, url=url), 400, message, "url")
    # What the person typed comes back, escaped.
    assert f'value="{escape(url)}"' in html
    assert "<script>alert" not in html
    assert_unchanged(app, seeded)


@pytest.mark.parametrize(("url", "message"), BAD_TARGETS.values(), ids=BAD_TARGETS.keys())
def test_bad_target_through_the_api(app, client, seeded, url, message):
    response = client.post("/api/links", json={"url": url})
    assert_api_error(response, 400, message, "url", "invalid_request")
    assert_unchanged(app, seeded)


def test_lone_surrogate_in_json_is_refused(app, client, seeded):
    response = client.post(
        "/api/links", data='{"url": "https://example.com/\\ud800"}', content_type="application/json"
    )
    assert_api_error(response, 400, "not valid text", "url", "invalid_request")
    assert_unchanged(app, seeded)


# ---------------------------------------------------------------------------------------
# Custom names: (code, status, message). Names are case-sensitive; reserved ones are not.
RULE = "A custom name is 3–64 characters: letters, digits, '-' or '_'."
BAD_CODES = {
    "reserved": ("api", 400, "“api” is reserved"),
    "reserved-upper-case": ("API", 400, "“API” is reserved"),
    "reserved-mixed-case": ("ShOrTeN", 400, "“ShOrTeN” is reserved"),
    "reserved-health": ("healthz", 400, "“healthz” is reserved"),
    "reserved-static": ("Static", 400, "“Static” is reserved"),
    "too-long": ("a" * 65, 400, RULE),
    "too-short": ("ab", 400, RULE),
    "slash": ("a/b", 400, RULE),
    "dot-dot": ("..", 400, RULE),
    "dot-dot-slash": ("../etc", 400, RULE),
    "encoded-slash": ("a%2Fb", 400, RULE),
    "encoded-slash-alone": ("%2F", 400, RULE),
    "plus": ("abc+", 400, RULE),
    "dot": ("a.b.c", 400, RULE),
    "unicode-letter": ("café", 400, RULE),
    "fullwidth-reserved": ("ａｐｉ", 400, RULE),
    "cyrillic-lookalike": ("nіke", 400, RULE),  # Cyrillic і
    "zero-width": ("nike\u200b", 400, RULE),
    "inner-space": ("my name", 400, RULE),
    "html": ('"><script>alert(1)</script>', 400, RULE),
    "nul": ("abc\x00", 400, RULE),
    "taken": ("keep", 409, "The name “keep” is already taken."),
}


@pytest.mark.parametrize(("code", "status", "message"), BAD_CODES.values(), ids=BAD_CODES.keys())
def test_bad_custom_name_through_the_form(app, client, seeded, code, status, message):
    response = form_post(client, url="https://example.com/new", code=code)
    html = assert_form_error(response, status, message, "code")
    assert f'value="{escape(code)}"' in html
    assert "<script>alert" not in html
    assert_unchanged(app, seeded)


@pytest.mark.parametrize(("code", "status", "message"), BAD_CODES.values(), ids=BAD_CODES.keys())
def test_bad_custom_name_through_the_api(app, client, seeded, code, status, message):
    response = client.post("/api/links", json={"url": "https://example.com/new", "code": code})
    kind = "code_taken" if status == 409 else "invalid_request"
    assert_api_error(response, status, message, "code", kind)
    assert_unchanged(app, seeded)


@pytest.mark.parametrize("code", ["", None])
def test_an_empty_custom_name_means_a_generated_code_through_the_api(client, code):
    response = client.post("/api/links", json={"url": "https://example.com/", "code": code})
    assert response.status_code == 201
    assert len(response.get_json()["code"]) == 7


@pytest.mark.parametrize("code", ["", "   ", "\u3000"])
def test_an_empty_custom_name_means_a_generated_code_through_the_form(client, code):
    response = form_post(client, url="https://example.com/", code=code)
    assert response.status_code == 303
    assert len(response.headers["Location"].strip("/+")) == 7


@pytest.mark.parametrize("code", ["   ", " spaced ", "tab\t"])
def test_the_api_takes_names_exactly_as_sent(app, client, seeded, code):
    # The form trims what a person typed; the API follows its documented pattern exactly.
    response = client.post("/api/links", json={"url": "https://example.com/", "code": code})
    assert_api_error(response, 400, RULE, "code", "invalid_request")
    assert_unchanged(app, seeded)


def test_names_differing_in_case_are_different_links(app, client, seeded):
    response = client.post("/api/links", json={"url": "https://example.com/other", "code": "kEEp"})
    assert response.status_code == 201
    assert client.get("/kEEp").headers["Location"] == "https://example.com/other"
    assert client.get("/keep").headers["Location"] == "https://example.com/kept"


# ---------------------------------------------------------------------------------------
# The API's body: malformed JSON, wrong types, wrong content types, too large.
NOT_AN_OBJECT = "The body must be a JSON object"
BAD_BODIES = {
    "not-json": ("{not json", NOT_AN_OBJECT, None),
    "empty": ("", NOT_AN_OBJECT, None),
    "array": ('["https://example.com/"]', NOT_AN_OBJECT, None),
    "string": ('"https://example.com/"', NOT_AN_OBJECT, None),
    "null": ("null", NOT_AN_OBJECT, None),
    "truncated": ('{"url": "https://example.com/', NOT_AN_OBJECT, None),
    "trailing-garbage": ('{"url": "https://example.com/"} x', NOT_AN_OBJECT, None),
    "deeply-nested": ("[" * 5000 + "]" * 5000, NOT_AN_OBJECT, None),
    "invalid-utf8": (b'{"url": "https://example.com/\xff"}', NOT_AN_OBJECT, None),
    "no-url": ('{"code": "abc"}', 'Give a "url" to shorten.', "url"),
    "url-null": ('{"url": null}', 'Give a "url" to shorten.', "url"),
    "url-number": ('{"url": 5}', "url must be a string.", "url"),
    "url-nan": ('{"url": NaN}', "url must be a string.", "url"),
    "url-array": ('{"url": ["https://example.com/"]}', "url must be a string.", "url"),
    "url-object": (
        '{"url": {"href": "https://example.com/"}}',
        "url must be a string.",
        "url",
    ),
    "code-number": ('{"url": "https://example.com/", "code": 7}', "code must be", "code"),
    "code-bool": ('{"url": "https://example.com/", "code": true}', "code must be", "code"),
    "expiry-words": (
        '{"url": "https://example.com/", "expires_at": "tomorrow"}',
        "expires_at must be an ISO 8601 timestamp",
        "expires_at",
    ),
    "expiry-number": (
        '{"url": "https://example.com/", "expires_at": 1900000000}',
        "expires_at must be an ISO 8601 timestamp string.",
        "expires_at",
    ),
    "expiry-past": (
        '{"url": "https://example.com/", "expires_at": "2000-01-01T00:00:00Z"}',
        "The expiry time must be in the future.",
        "expires_at",
    ),
    "expiry-beyond-year-9999-in-utc": (
        '{"url": "https://example.com/", "expires_at": "9999-12-31T23:59:59-14:00"}',
        "expires_at must be an ISO 8601 timestamp",
        "expires_at",
    ),
    "expiry-html": (
        '{"url": "https://example.com/", "expires_at": "<script>alert(1)</script>"}',
        "expires_at must be an ISO 8601 timestamp",
        "expires_at",
    ),
}


@pytest.mark.parametrize(("body", "message", "field"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_json_body_is_400(app, client, seeded, body, message, field):
    response = client.post("/api/links", data=body, content_type="application/json")
    assert_api_error(response, 400, message, field, "invalid_request")
    assert "<script>" not in response.get_data(as_text=True)
    assert_unchanged(app, seeded)


WRONG_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "text/html",
    "application/json-patch+json",
    "application/jsonx",
]


@pytest.mark.parametrize("content_type", WRONG_TYPES)
def test_wrong_content_type_is_415(app, client, seeded, content_type):
    response = client.post(
        "/api/links", data='{"url": "https://example.com/"}', content_type=content_type
    )
    assert_api_error(
        response,
        415,
        "Send application/json, or multipart/form-data with a file.",
        None,
        "unsupported_media_type",
    )
    assert_unchanged(app, seeded)


def test_json_body_over_the_limit_is_413(app, client, seeded):
    body = '{"url": "https://example.com/", "pad": "' + "x" * MAX_JSON_BYTES + '"}'
    response = client.post("/api/links", data=body, content_type="application/json")
    assert_api_error(response, 413, "A JSON body can be at most 16 KB.", None, "too_large")
    assert_unchanged(app, seeded)


OVERSIZED_UPLOADS = {
    "over-the-upload-cap": ("MAX_UPLOAD_BYTES", 1024, 1025, "Files can be at most 0 MB.", "file"),
    "over-the-request-limit": ("MAX_CONTENT_LENGTH", 4096, 8192, "That upload is too large.", None),
}


@pytest.mark.parametrize(
    ("setting", "limit", "size", "message", "field"),
    OVERSIZED_UPLOADS.values(),
    ids=OVERSIZED_UPLOADS.keys(),
)
def test_oversized_upload_through_the_api_is_413(
    app, client, seeded, monkeypatch, setting, limit, size, message, field
):
    monkeypatch.setitem(app.config, setting, limit)
    response = client.post(
        "/api/links",
        data={"file": (io.BytesIO(b"x" * size), "big.bin")},
        content_type="multipart/form-data",
    )
    assert_api_error(response, 413, message, field, "too_large")
    assert_unchanged(app, seeded)


# ---------------------------------------------------------------------------------------
# The form's own refusals: CSRF, both or neither of URL and file, sizes.
STALE = "Your session expired or the form is stale: please try again."


def _tampered(token: str) -> str:
    # The first character: the last one of base64 may carry unused bits and decode the same.
    return ("A" if token[0] != "A" else "B") + token[1:]


CSRF_TOKENS = {
    "missing": lambda app, client: None,
    "empty": lambda app, client: "",
    "wrong": lambda app, client: "not-a-token",
    "tampered": lambda app, client: _tampered(csrf_token(client)),
    "another-session": lambda app, client: csrf_token(app.test_client()),
}


@pytest.mark.parametrize("token", CSRF_TOKENS.values(), ids=CSRF_TOKENS.keys())
def test_form_without_a_valid_csrf_token(app, client, seeded, token):
    csrf_token(client)  # this browser has a session and a token of its own
    sent = token(app, client)
    data = {"url": "https://example.com/"} | ({} if sent is None else {"csrf_token": sent})
    html = assert_form_error(client.post("/shorten", data=data), 400, STALE, "url")
    assert 'value="https://example.com/"' in html  # what was typed is kept
    assert_unchanged(app, seeded)


def test_json_posted_to_the_form_is_refused(app, client, seeded):
    response = client.post("/shorten", json={"url": "https://example.com/"})
    assert_form_error(response, 400, STALE, "url")
    assert_unchanged(app, seeded)


def test_url_and_file_together(app, client, seeded):
    response = form_post(client, url="https://example.com/", file=(io.BytesIO(b"x"), "a.txt"))
    assert_form_error(response, 400, "Shorten a URL or upload a file, not both at once.", "url")
    assert_unchanged(app, seeded)


def test_empty_upload(app, client, seeded):
    response = form_post(client, file=(io.BytesIO(b""), "empty.txt"))
    assert_form_error(response, 400, "That file is empty.", "file")
    assert_unchanged(app, seeded)


def test_upload_over_the_cap_through_the_form(app, client, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    response = form_post(client, file=(io.BytesIO(b"x" * 1025), "big.bin"))
    assert_form_error(response, 413, "Files can be at most", "file")
    assert_unchanged(app, seeded)


def test_form_field_over_the_form_memory_limit_is_413(app, client, seeded):
    response = form_post(client, url="https://example.com/" + "a" * 600_000)
    assert response.status_code == 413
    assert "That upload is too large." in response.get_data(as_text=True)
    assert_unchanged(app, seeded)


# ---------------------------------------------------------------------------------------
# Wrong methods: 405 with Allow, as JSON under /api and as a page elsewhere.
WRONG_METHODS = [
    ("GET", "/shorten", "POST"),
    ("PUT", "/shorten", "POST"),
    ("POST", "/", "GET"),
    ("DELETE", "/", "GET"),
    ("POST", "/keep", "GET"),
    ("PUT", "/keep", "GET"),
    ("DELETE", "/keep", "GET"),
    ("POST", "/keep+", "GET"),
    ("POST", "/keep/qr.svg", "GET"),
    ("GET", "/api/links", "POST"),
    ("PATCH", "/api/links", "POST"),
    ("PUT", "/api/links/keep", "DELETE"),
    ("POST", "/api/links/keep", "GET"),
    ("POST", "/api", "GET"),
    ("POST", "/healthz", "GET"),
]


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_wrong_method_is_405(app, client, seeded, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert allowed in response.headers["Allow"]
    if path.startswith("/api"):
        assert response.get_json()["error"]["type"] == "method_not_allowed"
    else:
        assert response.mimetype == "text/html"
    assert_unchanged(app, seeded)


# ---------------------------------------------------------------------------------------
# Unknown codes of every shape: the 404 page, or JSON under /api and for JSON clients.
UNKNOWN_PAGES = [
    "/nope",
    "/KEEP",
    "/Keep",
    "/keep-",
    "/a.b",
    "/" + "a" * 65,
    "/%0d%0aSet-Cookie:%20x=1",
    "/%00",
    "/caf%C3%A9",
    "/%ff",
    "/..%2F..%2Fetc%2Fpasswd",
    "/keep%2F",
    "/keep/extra",
    "/nope+",
    "/nope/qr.svg",
    "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/static/nope.css",
    "/api/nope",
]
UNKNOWN_API = [
    "/api/links/nope",
    "/api/links/KEEP",
    "/api/links/a.b",
    "/api/links/%2E%2E",
    "/api/links/keep%2F",
    "/api/links/" + "a" * 65,
    "/api/links/",
]


@pytest.mark.parametrize("path", UNKNOWN_PAGES)
def test_unknown_path_is_the_404_page(app, client, seeded, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    if path.startswith("/api/"):
        assert response.get_json()["error"]["type"] == "not_found"
        return
    assert "does not exist" in html or "Not Found" in html
    assert "<script>alert" not in html
    assert "Set-Cookie" not in response.headers
    json = client.get(path, headers={"Accept": "application/json"})
    assert json.status_code == 404
    assert json.get_json()["error"]["type"] == "not_found"
    assert_unchanged(app, seeded)


@pytest.mark.parametrize("path", UNKNOWN_API)
def test_unknown_code_through_the_api_is_404_json(app, client, seeded, path):
    for method in ("GET", "DELETE"):
        response = client.open(
            path, method=method, headers={"Authorization": "Bearer test-admin-token"}
        )
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["type"] == "not_found"
    assert_unchanged(app, seeded)
