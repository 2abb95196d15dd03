"""The JSON API, end to end through the Flask test client."""

import io
from datetime import UTC, datetime, timedelta

import pytest

from shortener.extensions import db
from shortener.models import Link
from tests.conftest import ADMIN_TOKEN, BASE_URL


def create(client, **body):
    return client.post("/api/links", json=body)


def assert_error(response, status, error_type):
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]
    return body["error"]


def count_links(app):
    with app.app_context():
        return db.session.query(Link).count()


def test_create_returns_201_with_the_link(client):
    response = create(client, url="https://example.com/page")
    assert response.status_code == 201
    body = response.get_json()
    assert body["url"] == "https://example.com/page"
    assert body["short_url"] == f"{BASE_URL}/{body['code']}"
    assert len(body["code"]) == 7
    assert body["status"] == "active"
    assert body["visits"] == 0
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert response.headers["Location"] == f"/api/links/{body['code']}"


def test_create_with_custom_code_and_expiry(client):
    expires = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    response = create(
        client,
        url="https://example.com/",
        code="Nike-2027",
        expires_at=expires.isoformat().replace("+00:00", "Z"),
    )
    body = response.get_json()
    assert response.status_code == 201
    assert body["code"] == "Nike-2027"
    assert datetime.fromisoformat(body["expires_at"]) == expires


def test_get_returns_details_with_visit_count(app, client):
    code = create(client, url="https://example.com/").get_json()["code"]
    client.get(f"/{code}")
    client.get(f"/{code}")
    body = client.get(f"/api/links/{code}").get_json()
    assert body["visits"] == 2
    with app.app_context():
        from shortener.visits import visits

        visits.flush()
    assert client.get(f"/api/links/{code}").get_json()["visits"] == 2


def test_get_unknown_code_is_404_json(client):
    assert_error(client.get("/api/links/nope"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": 5}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": f"{BASE_URL}/abc"}, "url"),
        ({"url": "https://example.com/", "code": "x"}, "code"),
        ({"url": "https://example.com/", "code": "api"}, "code"),
        ({"url": "https://example.com/", "code": 7}, "code"),
        ({"url": "https://example.com/", "expires_at": "tomorrow"}, "expires_at"),
        ({"url": "https://example.com/", "expires_at": 12}, "expires_at"),
        ({"url": "https://example.com/", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_invalid_input_is_400_and_stores_nothing(app, client, body, field):
    error = assert_error(create(client, **body), 400, "invalid_request")
    assert error["field"] == field
    assert count_links(app) == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"a string"', ""])
def test_malformed_json_is_400(app, client, raw):
    response = client.post("/api/links", data=raw, content_type="application/json")
    assert_error(response, 400, "invalid_request")
    assert count_links(app) == 0


def test_unsupported_content_type_is_415(app, client):
    response = client.post(
        "/api/links",
        data="url=https://example.com/",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415, "unsupported_media_type")
    response = client.post("/api/links", data="https://example.com/", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    assert count_links(app) == 0


def test_taken_code_is_409_and_the_first_link_is_kept(app, client):
    create(client, url="https://example.com/first", code="same")
    assert_error(create(client, url="https://example.com/second", code="same"), 409, "code_taken")
    assert client.get("/same").headers["Location"] == "https://example.com/first"
    assert count_links(app) == 1


def test_upload_through_the_api(client):
    response = client.post(
        "/api/links",
        data={"file": (io.BytesIO(b"%PDF-1.4"), "r.pdf"), "code": "report"},
        content_type="multipart/form-data",
    )
    body = response.get_json()
    assert response.status_code == 201
    assert body["url"] is None
    assert body["file"] == {"filename": "r.pdf", "content_type": "application/pdf", "size": 8}
    assert client.get("/report").data == b"%PDF-1.4"


def test_multipart_without_a_file_is_400(app, client):
    response = client.post("/api/links", data={"code": "x"}, content_type="multipart/form-data")
    assert_error(response, 400, "invalid_request")
    assert count_links(app) == 0


def test_upload_over_the_cap_is_413(app, client):
    app.config["MAX_UPLOAD_BYTES"] = 100
    response = client.post(
        "/api/links",
        data={"file": (io.BytesIO(b"x" * 101), "big.bin")},
        content_type="multipart/form-data",
    )
    assert_error(response, 413, "too_large")
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post(
        "/api/links",
        data={"file": (io.BytesIO(b"x" * 2000), "big.bin")},
        content_type="multipart/form-data",
    )
    assert_error(response, 413, "too_large")
    assert count_links(app) == 0


def test_rate_limit_is_429_json(app, client):
    app.config["RATE_LIMIT_CREATE"] = "3/minute"
    for i in range(3):
        assert create(client, url=f"https://example.com/{i}").status_code == 201
    response = create(client, url="https://example.com/4")
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"]
    assert count_links(app) == 3


def test_delete_needs_the_admin_token(app, client):
    code = create(client, url="https://example.com/").get_json()["code"]
    response = client.delete(f"/api/links/{code}")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer not-the-token"}
    assert_error(client.delete(f"/api/links/{code}", headers=wrong), 403, "forbidden")
    basic = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    assert_error(client.delete(f"/api/links/{code}", headers=basic), 401, "unauthorized")
    assert client.get(f"/{code}").status_code == 302


def test_delete_is_refused_when_no_admin_token_is_configured(app, client):
    app.config["ADMIN_TOKEN"] = ""
    code = create(client, url="https://example.com/").get_json()["code"]
    response = client.delete(f"/api/links/{code}", headers={"Authorization": "Bearer "})
    assert_error(response, 403, "forbidden")


def test_delete_disables_the_link(client):
    code = create(client, url="https://example.com/").get_json()["code"]
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = client.delete(f"/api/links/{code}", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["status"] == "disabled"
    assert client.get(f"/{code}").status_code == 410
    assert client.get(f"/api/links/{code}").get_json()["status"] == "disabled"
    assert client.delete(f"/api/links/{code}", headers=auth).status_code == 200
    assert_error(client.delete("/api/links/unknown", headers=auth), 404, "not_found")


def test_api_session_codes_lists_codes_made_by_this_browser_only(client):
    assert client.get("/api").get_json() == []
    create(client, url="https://example.com/")  # API clients are not browser sessions
    assert client.get("/api").get_json() == []


def test_openapi_document_describes_the_api(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"post"} <= set(doc["paths"]["/api/links"])
    assert {"get", "delete"} <= set(doc["paths"]["/api/links/{code}"])
    assert doc["servers"][0]["url"] == BASE_URL


def test_method_not_allowed_is_405_json_on_the_api(client):
    response = client.put("/api/links")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
