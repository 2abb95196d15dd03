"""Error pages, build info, request ids, metrics and log lines, in the test client."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client import REGISTRY

from shortener import create_app
from shortener.buildinfo import load_build_info
from shortener.extensions import db
from shortener.models import Link, utcnow
from shortener.observability import incoming_request_id
from tests.conftest import app_config
from tests.support.servers import free_port


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def log_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# Build info


def test_build_info_comes_from_build_info_json(tmp_path: Path):
    (tmp_path / "build-info.json").write_text(
        json.dumps({"version": "3.1.0-42", "commit": "abc123", "built_at": "2026-12-03T10:00Z"})
    )
    assert load_build_info(tmp_path) == {
        "version": "3.1.0-42",
        "commit": "abc123",
        "built_at": "2026-12-03T10:00Z",
    }


def test_missing_fields_of_build_info_are_unknown(tmp_path: Path):
    (tmp_path / "build-info.json").write_text(json.dumps({"version": "3.1.0"}))
    assert load_build_info(tmp_path) == {
        "version": "3.1.0",
        "commit": "unknown",
        "built_at": "unknown",
    }


def test_build_info_falls_back_to_git(tmp_path: Path):
    (tmp_path / "build-info.json").write_text("{not json")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert load_build_info(tmp_path) == {
        "version": f"dev-{commit[:7]}",
        "commit": commit,
        "built_at": "unknown",
    }


def test_build_info_is_unknown_without_file_or_git(tmp_path: Path):
    assert load_build_info(tmp_path) == {
        "version": "unknown",
        "commit": "unknown",
        "built_at": "unknown",
    }


def test_version_endpoint_and_header_show_the_build(client):
    response = client.get("/version")
    assert response.json == client.application.config["BUILD_INFO"]
    assert response.headers["X-App-Version"] == response.json["version"]


# Request ids


@pytest.mark.parametrize(
    "given", ["abc-123", "Root=1-5759e988-bd862e3fe1be46a994272793", "x" * 128]
)
def test_a_sane_request_id_is_kept(given: str):
    assert incoming_request_id(given) == given


@pytest.mark.parametrize("given", [None, "", "x" * 129, "caf\u00e9", "a\tb", "a\x00b"])
def test_a_missing_or_odd_request_id_is_replaced(given: str | None):
    generated = incoming_request_id(given)
    assert generated != given
    assert len(generated) == 32
    int(generated, 16)


# Error pages and the session


def failing_app(database_url: str, captured: dict) -> Flask:
    """The app with two extra routes that fail after writing to the session."""
    app = create_app(app_config(database_url))

    def add_half_written_link() -> None:
        db.session.add(Link(code="halfway", target_url="https://example.com/", created_at=utcnow()))
        db.session.flush()

    @app.get("/boom")
    def boom():
        add_half_written_link()
        raise RuntimeError("secret detail that must not reach the client")

    @app.get("/boom-on-a-dead-connection")
    def boom_on_a_dead_connection():
        add_half_written_link()
        # The connection dies under the session, so even the rollback fails.
        db.session.connection().connection.dbapi_connection.close()
        raise RuntimeError("after the connection died")

    @app.after_request
    def look_at_the_session(response):
        captured["in_transaction"] = db.session().in_transaction()
        return response

    return app


def test_a_500_rolls_back_and_shows_the_error_page_without_a_traceback(database_url: str, capsys):
    captured: dict = {}
    app = failing_app(database_url, captured)
    try:
        response = app.test_client().get("/boom", headers={"Accept": "text/html"})
        assert response.status_code == 500
        page = response.get_data(as_text=True)
        assert "Something went wrong on our side" in page
        assert 'class="status-code">' in page
        assert "500" in page.split('class="status-code">', 1)[1].split("<", 1)[0]
        assert "Traceback" not in page
        assert "secret detail" not in page
        assert captured["in_transaction"] is False
        with app.app_context():
            assert db.session.execute(db.select(Link).filter_by(code="halfway")).first() is None
        # The traceback is in the server's log, as one JSON line.
        errors = [line for line in log_lines(capsys.readouterr().out) if line["level"] == "error"]
        logged = next(line for line in errors if line.get("message") == "unhandled error")
        assert "secret detail" in logged["exception"]
        assert logged["request_id"] == response.headers["X-Request-ID"]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_500_on_the_api_is_json_without_a_traceback(database_url: str):
    app = failing_app(database_url, {})
    app.add_url_rule("/api/boom", "api_boom", app.view_functions["boom"])
    try:
        response = app.test_client().get("/api/boom")
        assert response.status_code == 500
        assert response.json == {
            "error": {
                "type": "internal_error",
                "message": "The error has been logged. Please try again in a moment.",
            }
        }
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_500_still_answers_when_even_the_rollback_fails(tmp_path: Path, sqlite_template, capsys):
    path = tmp_path / "shortener.db"
    path.write_bytes(sqlite_template.read_bytes())
    captured: dict = {}
    app = failing_app(f"sqlite:///{path}", captured)
    try:
        response = app.test_client().get("/boom-on-a-dead-connection")
        assert response.status_code == 500
        assert "Traceback" not in response.get_data(as_text=True)
        assert captured["in_transaction"] is False
        warnings = [line.get("message") for line in log_lines(capsys.readouterr().out)]
        assert "rollback failed; discarding the session" in warnings
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app_without_database(tmp_path: Path):
    """The app pointed at a PostgreSQL port where nothing listens."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/shortener"
    app = create_app(app_config(url))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_database_down_means_503_for_people_and_programs(app_without_database: Flask):
    client = app_without_database.test_client()
    errors_before = value("shortener_db_errors_total")
    page = client.get("/abc1234", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "right back" in page.get_data(as_text=True)
    api = client.post("/api/links", json={"url": "https://example.com/"})
    assert api.status_code == 503
    assert api.json["error"]["type"] == "unavailable"
    # Not Flask-Limiter's window (up to a minute) on this rate-limited route.
    assert api.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["reasons"] == ["database unavailable (OperationalError)"]
    assert value("shortener_db_errors_total") - errors_before == 3


def test_a_query_past_the_statement_timeout_is_a_503(postgres_url: str):
    app = create_app(app_config(postgres_url, DB_STATEMENT_TIMEOUT_MS=100))

    @app.get("/slow")
    def slow():
        db.session.execute(sa.text("SELECT pg_sleep(2)"))
        return "finished"

    try:
        response = app.test_client().get("/slow", headers={"Accept": "text/html"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
    finally:
        with app.app_context():
            db.engine.dispose()


def test_postgresql_connections_carry_the_bounded_waits(postgres_url: str):
    app = create_app(app_config(postgres_url))
    try:
        with app.app_context(), db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "5s"
            libpq = {
                option.keyword.decode(): (option.val or b"").decode()
                for option in conn.connection.dbapi_connection.pgconn.info
            }
        assert libpq["connect_timeout"] == "3"
        assert libpq["tcp_user_timeout"] == "5000"
        assert libpq["keepalives_idle"] == "30"
    finally:
        with app.app_context():
            db.engine.dispose()


def test_error_pages_have_the_sites_look(client):
    for path, status, title in [
        ("/no-such-code", 404, "That short link does not exist"),
        ("/healthz/nope/deeper", 404, "That short link does not exist"),
    ]:
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == status
        html = response.get_data(as_text=True)
        assert title in html
        assert "style.css" in html


def test_a_disabled_link_answers_the_410_page(client):
    from tests.conftest import ADMIN_TOKEN

    code = client.post("/api/links", json={"url": "https://example.com/gone"}).json["code"]
    client.delete(f"/api/links/{code}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    response = client.get(f"/{code}", headers={"Accept": "text/html"})
    assert response.status_code == 410
    assert "This link is no longer available" in response.get_data(as_text=True)


# Metrics and logs in one process


def test_requests_links_and_redirects_are_counted(client):
    labels = {"endpoint": "redirects.follow", "method": "GET", "status": "302"}
    requests_before = value("shortener_http_requests_total", **labels)
    created_before = value("shortener_links_created_total")
    redirects_before = value("shortener_redirects_total")
    observed_before = value(
        "shortener_http_request_duration_seconds_count", endpoint="redirects.follow"
    )
    code = client.post("/api/links", json={"url": "https://example.com/x"}).json["code"]
    assert client.get(f"/{code}").status_code == 302
    assert value("shortener_http_requests_total", **labels) - requests_before == 1
    assert value("shortener_links_created_total") - created_before == 1
    assert value("shortener_redirects_total") - redirects_before == 1
    observed = value("shortener_http_request_duration_seconds_count", endpoint="redirects.follow")
    assert observed - observed_before == 1


def test_unrouted_paths_share_one_label(client):
    labels = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    before = value("shortener_http_requests_total", **labels)
    for n in range(3):
        client.get(f"/a/b/{n}")
    assert value("shortener_http_requests_total", **labels) - before == 3


def test_each_request_is_one_json_line_on_stdout(client, capsys):
    capsys.readouterr()
    response = client.get("/healthz?token=hunter2", headers={"X-Request-ID": "rid-1"})
    out = capsys.readouterr().out
    assert "hunter2" not in out
    (line,) = [entry for entry in log_lines(out) if entry.get("event") == "request"]
    assert line["request_id"] == "rid-1" == response.headers["X-Request-ID"]
    assert line["path"] == "/healthz"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["endpoint"] == "ops.healthz"
    assert line["version"] == client.application.config["BUILD_INFO"]["version"]
    assert line["time"].endswith("Z")
