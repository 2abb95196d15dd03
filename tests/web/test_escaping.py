"""HTML and script in every field: stored harmlessly, escaped wherever shown (info page, "your
links", API JSON, redirect), and uploads of active content only ever downloaded."""

from __future__ import annotations

import io

import pytest

from tests.conftest import csrf_token

# A URL that is valid but carries markup, and what it becomes once normalised.
MARKUP_URLS = {
    "path-closes-attribute": (
        'https://example.com/"><script>alert(1)</script>',
        "https://example.com/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    ),
    "query-img-onerror": (
        "https://example.com/?q=<img/src=x/onerror=alert(1)>",
        "https://example.com/?q=%3Cimg/src=x/onerror=alert(1)%3E",
    ),
    "fragment-svg-onload": (
        'https://example.com/#"><svg/onload=alert(1)>',
        "https://example.com/#%22%3E%3Csvg/onload=alert(1)%3E",
    ),
    "single-quotes": (
        "https://example.com/?a='onmouseover='alert(1)'",
        "https://example.com/?a='onmouseover='alert(1)'",
    ),
}
RAW_MARKUP = ("<script>alert", "<img/src", "<img src=x", "<svg/onload", "onmouseover='")


def shorten(client, **fields):
    data = {"csrf_token": csrf_token(client), **fields}
    response = client.post("/shorten", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response.headers["Location"].strip("/+")


def assert_no_raw_markup(html: str) -> None:
    for marker in RAW_MARKUP:
        assert marker not in html, marker


@pytest.mark.parametrize(("raw", "stored"), MARKUP_URLS.values(), ids=MARKUP_URLS.keys())
def test_markup_in_a_url_is_escaped_wherever_it_is_shown(client, raw, stored):
    code = shorten(client, url=raw)
    assert_no_raw_markup(client.get(f"/{code}+").get_data(as_text=True))
    assert_no_raw_markup(client.get("/").get_data(as_text=True))  # "your links"
    api = client.get(f"/api/links/{code}")
    assert api.mimetype == "application/json"
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.get_json()["url"] == stored
    assert client.get(f"/{code}").headers["Location"] == stored


def test_markup_in_a_file_name_is_neutralised(client):
    code = shorten(
        client, file=(io.BytesIO(b"data"), "<img src=x onerror=alert(1)>.txt", "text/plain")
    )
    info = client.get(f"/{code}+").get_data(as_text=True)
    assert_no_raw_markup(info)
    assert "img_srcx_onerroralert1.txt" in info
    assert_no_raw_markup(client.get("/").get_data(as_text=True))
    body = client.get(f"/api/links/{code}").get_json()
    assert body["file"]["filename"] == "img_srcx_onerroralert1.txt"
    disposition = client.get(f"/{code}").headers["Content-Disposition"]
    assert disposition == "attachment; filename=img_srcx_onerroralert1.txt"


def test_a_claimed_media_type_that_is_not_one_is_stored_as_bytes(client):
    response = client.post(
        "/api/links",
        data={"file": (io.BytesIO(b"<b>x</b>"), "x.bin", "text/html<script>alert(1)</script>")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    assert response.get_json()["file"]["content_type"] == "application/octet-stream"


# Uploads a browser would render or run if it were shown them inline.
ACTIVE_UPLOADS = {
    "html": ("page.html", "text/html", b"<script>alert(document.cookie)</script>"),
    "svg": (
        "image.svg",
        "image/svg+xml",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>1</script></svg>',
    ),
    "xhtml": (
        "page.xhtml",
        "application/xhtml+xml",
        b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
    ),
    "xml": ("data.xml", "text/xml", b"<?xml-stylesheet href='x.xsl'?><x/>"),
    "javascript": ("app.js", "text/javascript", b"alert(1)"),
    "html-claiming-png": ("photo.png", "image/png", b"<html><script>alert(1)</script></html>"),
}


@pytest.mark.parametrize("channel", ["form", "api"])
@pytest.mark.parametrize(
    ("filename", "content_type", "data"), ACTIVE_UPLOADS.values(), ids=ACTIVE_UPLOADS.keys()
)
def test_active_uploads_are_only_ever_downloaded(client, channel, filename, content_type, data):
    upload = (io.BytesIO(data), filename, content_type)
    if channel == "form":
        code = shorten(client, file=upload)
    else:
        response = client.post(
            "/api/links", data={"file": upload}, content_type="multipart/form-data"
        )
        assert response.status_code == 201
        code = response.get_json()["code"]
    for method in ("GET", "HEAD"):
        download = client.open(f"/{code}", method=method)
        assert download.status_code == 200
        assert download.headers["Content-Disposition"] == f"attachment; filename={filename}"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Security-Policy"].startswith("sandbox")
    assert client.get(f"/{code}").data == data


# Line breaks in every spelling end up percent-encoded in Location, never as a header.
HEADER_INJECTIONS = {
    "encoded-crlf": (
        "https://example.com/%0d%0aSet-Cookie:%20stolen=1",
        "https://example.com/%0d%0aSet-Cookie:%20stolen=1",
    ),
    "unicode-line-separator": ("https://example.com/a\u2028b", "https://example.com/a%E2%80%A8b"),
    "next-line": ("https://example.com/a\u0085b", "https://example.com/a%C2%85b"),
    "fullwidth-newline-lookalike": (
        "https://example.com/a\uff0ab",
        "https://example.com/a%EF%BC%8Ab",
    ),
}


@pytest.mark.parametrize(("raw", "location"), HEADER_INJECTIONS.values(), ids=HEADER_INJECTIONS)
def test_no_header_injection_through_location(client, raw, location):
    response = client.post("/api/links", json={"url": raw})
    assert response.status_code == 201
    code = response.get_json()["code"]
    for method in ("GET", "HEAD"):
        followed = client.open(f"/{code}", method=method)
        assert followed.status_code == 302
        assert followed.headers["Location"] == location
        assert "Set-Cookie" not in followed.headers
