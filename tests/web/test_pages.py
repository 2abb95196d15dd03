"""The browser form, the info page and the QR code, through the Flask test client."""

import io

from shortener.extensions import db
from shortener.models import Link
from tests.conftest import BASE_URL, csrf_token


def count_links(app) -> int:
    with app.app_context():
        return db.session.query(Link).count()


def shorten(client, **fields):
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post("/shorten", data=data, content_type="multipart/form-data")


def test_home_page_has_the_form_with_labels_and_csrf(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="csrf_token"' in html
    for field in ("url", "file", "code"):
        assert f'<label for="{field}"' in html
        assert f'id="{field}" name="{field}"' in html
    assert "Links you make in this browser will appear here" in html


def test_shorten_redirects_to_the_info_page(client):
    response = shorten(client, url="https://example.com/long/path")
    assert response.status_code == 303
    code = response.headers["Location"].removeprefix("/").removesuffix("+")
    info = client.get(response.headers["Location"])
    html = info.get_data(as_text=True)
    assert info.status_code == 200
    assert f"{BASE_URL}/{code}" in html
    assert "https://example.com/long/path" in html
    assert f"/{code}/qr.svg" in html
    assert 'id="copy"' in html
    assert 'id="visits">0<' in html


def test_custom_name(client):
    response = shorten(client, url="https://example.com/", code="my-name")
    assert response.headers["Location"] == "/my-name+"
    assert client.get("/my-name").headers["Location"] == "https://example.com/"


def test_taken_name_rerenders_the_form_with_409_and_the_input(client, app):
    shorten(client, url="https://example.com/1", code="taken")
    response = shorten(client, url="https://example.com/2", code="taken")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "already taken" in html
    assert 'value="https://example.com/2"' in html
    assert 'value="taken"' in html
    assert 'id="code-error"' in html
    assert client.get("/taken").headers["Location"] == "https://example.com/1"
    assert count_links(app) == 1


def test_invalid_url_rerenders_the_form_with_400(client, app):
    response = shorten(client, url="javascript:alert(1)")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Only http:// and https://" in html
    assert 'id="url-error"' in html
    assert count_links(app) == 0


def test_empty_form_says_what_to_do(client, app):
    response = shorten(client, url="")
    assert response.status_code == 400
    assert "Please enter a URL to shorten." in response.get_data(as_text=True)
    assert count_links(app) == 0


def test_url_and_file_together_are_refused(client, app):
    response = shorten(client, url="https://example.com/", file=(io.BytesIO(b"x"), "a.txt"))
    assert response.status_code == 400
    assert "not both" in response.get_data(as_text=True)
    assert count_links(app) == 0


def test_invalid_custom_name_is_refused(client, app):
    response = shorten(client, url="https://example.com/", code="api")
    assert response.status_code == 400
    assert "reserved" in response.get_data(as_text=True)
    assert count_links(app) == 0


def test_missing_csrf_token_is_refused_with_the_form(client, app):
    response = client.post("/shorten", data={"url": "https://example.com/"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "session expired" in html
    assert 'value="https://example.com/"' in html
    assert count_links(app) == 0


def test_upload_a_file_and_download_it(client):
    response = shorten(client, file=(io.BytesIO(b"hello file"), "../../etc/Report 2024.pdf"))
    assert response.status_code == 303
    code = response.headers["Location"].strip("/+")
    info = client.get(f"/{code}+").get_data(as_text=True)
    assert "etc_Report_2024.pdf" in info
    download = client.get(f"/{code}")
    assert download.status_code == 200
    assert download.data == b"hello file"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "etc_Report_2024.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_html_upload_is_never_rendered_inline(client):
    response = shorten(
        client, file=(io.BytesIO(b"<script>alert(1)</script>"), "x.html", "text/html")
    )
    code = response.headers["Location"].strip("/+")
    download = client.get(f"/{code}")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Security-Policy"].startswith("sandbox")


def test_empty_upload_is_refused(client, app):
    response = shorten(client, file=(io.BytesIO(b""), "empty.txt"))
    assert response.status_code == 400
    assert "empty" in response.get_data(as_text=True)
    assert count_links(app) == 0


def test_too_large_upload_gets_413_with_the_form(app, client):
    app.config["MAX_UPLOAD_BYTES"] = 1024
    response = shorten(client, file=(io.BytesIO(b"x" * 2048), "big.bin"))
    assert response.status_code == 413
    assert "at most" in response.get_data(as_text=True)
    assert count_links(app) == 0


def test_body_over_the_request_limit_gets_413_page(app, client):
    token = csrf_token(client)
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = client.post(
        "/shorten",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 4096), "big.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert count_links(app) == 0


def test_your_links_lists_this_browsers_links_only(app, client):
    shorten(client, url="https://example.com/mine", code="mine")
    other = app.test_client()
    shorten(other, url="https://example.com/theirs", code="theirs")
    html = client.get("/").get_data(as_text=True)
    assert "/mine" in html and "https://example.com/mine" in html
    assert "theirs" not in html
    assert client.get("/api").get_json() == ["mine"]
    assert other.get("/api").get_json() == ["theirs"]
    assert app.test_client().get("/api").get_json() == []


def test_info_page_of_unknown_code_is_404_page(client):
    response = client.get("/nothing-here+")
    assert response.status_code == 404
    assert "does not exist" in response.get_data(as_text=True)


def test_qr_code_encodes_the_short_url(client):
    shorten(client, url="https://example.com/", code="qrme")
    response = client.get("/qrme/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg")
    assert client.get("/nope-nope/qr.svg").status_code == 404


def test_pages_carry_security_headers(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]
    assert headers["X-App-Version"]


def test_rate_limit_rerenders_the_form_with_429(app, client):
    app.config["RATE_LIMIT_CREATE"] = "2/minute"
    assert shorten(client, url="https://example.com/1").status_code == 303
    assert shorten(client, url="https://example.com/2").status_code == 303
    response = shorten(client, url="https://example.com/3")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "wait a minute" in html
    assert 'value="https://example.com/3"' in html
    assert count_links(app) == 2
