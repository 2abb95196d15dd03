"""The redirect fast path answers exactly as the Flask route would, and leaves every other
case to Flask."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from shortener import create_app, resolver
from shortener.extensions import db
from shortener.fastpath import RedirectFastPath
from shortener.metrics import REQUESTS
from tests.conftest import app_config


def make(client, url="https://example.com/target", **extra) -> str:
    return client.post("/api/links", json={"url": url, **extra}).get_json()["code"]


def fast_path(app) -> RedirectFastPath:
    middleware = app.wsgi_app
    while not isinstance(middleware, RedirectFastPath):  # inside the 404 limit (misslimit.py)
        middleware = middleware.wsgi_app
    return middleware


def test_answers_like_the_flask_route(app, client, capsys):
    code = make(client)
    fast = client.get(f"/{code}")
    outermost = app.wsgi_app
    app.wsgi_app = fast_path(app).wsgi_app  # the Flask route alone
    try:
        slow = client.get(f"/{code}")
    finally:
        app.wsgi_app = outermost
    assert fast.status == slow.status == "302 FOUND"
    assert fast.get_data() == slow.get_data() == b""
    ignore = {"X-Request-ID"}
    assert sorted(kv for kv in fast.headers.items() if kv[0] not in ignore) == sorted(
        kv for kv in slow.headers.items() if kv[0] not in ignore
    )
    capsys.readouterr()


def test_counts_and_logs_the_redirect(app, client, capsys):
    code = make(client)
    link_id = client.get(f"/api/links/{code}").get_json()
    before = REQUESTS.labels("redirects.follow", "GET", "302")._value.get()
    capsys.readouterr()
    response = client.get(f"/{code}", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert REQUESTS.labels("redirects.follow", "GET", "302")._value.get() == before + 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    logged = [line for line in lines if line.get("event") == "request"]
    assert logged[-1]["endpoint"] == "redirects.follow"
    assert logged[-1]["request_id"] == "abc-123"
    assert logged[-1]["path"] == f"/{code}"
    assert logged[-1]["status"] == 302
    assert link_id["visits"] == 0
    assert client.get(f"/api/links/{code}").get_json()["visits"] == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),  # a route of its own that looks like a code
        ("GET", "/does-not-exist", 404),
        ("POST", "/abc", 405),
    ],
)
def test_leaves_other_requests_to_flask(client, method, path, status):
    assert client.open(path, method=method).status_code == status


def test_leaves_disabled_links_to_flask(app, client):
    code = make(client)
    assert client.get(f"/{code}").status_code == 302
    response = client.delete(
        f"/api/links/{code}", headers={"Authorization": f"Bearer {app.config['ADMIN_TOKEN']}"}
    )
    assert response.status_code == 200
    assert client.get(f"/{code}").status_code == 410


def test_leaves_files_to_flask(client):
    from io import BytesIO

    upload = {"file": (BytesIO(b"hello"), "hello.txt")}
    response = client.post("/api/links", data=upload, content_type="multipart/form-data")
    code = response.get_json()["code"]
    download = client.get(f"/{code}")
    assert download.status_code == 200
    assert download.get_data() == b"hello"
    assert "attachment" in download.headers["Content-Disposition"]


def test_database_error_is_a_503_from_flask(sqlite_template, tmp_path, capsys):
    path = tmp_path / "broken.db"
    shutil.copy(sqlite_template, path)
    app = create_app(app_config(f"sqlite:///{path}"))
    resolver.clear()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE links RENAME TO links_away")
    try:
        response = app.test_client().get("/abcdef", headers={"Accept": "application/json"})
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert response.get_json()["error"]["type"] == "unavailable"
    finally:
        with app.app_context():
            db.engine.dispose()
    capsys.readouterr()
