"""Micro-benchmarks of the redirect path, in-process, to guide work between `make bench` runs.

They time the app's WSGI callable (no HTTP, no gunicorn) on SQLite and PostgreSQL, next to
a minimal Flask app answering a constant redirect (the framework floor). They check what
is answered, never how fast: timings on a shared machine are for reading, not asserting.
Run with figures: `.venv/bin/python -m pytest tests/bench --benchmark-enable`.
"""

from __future__ import annotations

import io
import sys

import pytest
from flask import Flask, redirect

from shortener import resolver

ROUNDS = 20
ITERATIONS = 10
TARGET = "https://example.com/articles/1?utm_source=short"


def environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
    }


def call(wsgi_app, path: str) -> tuple[str, dict]:
    """One request through a WSGI callable; return its status line and headers."""
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    body = wsgi_app(environ(path), start_response)
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    return answer["status"], answer["headers"]


def floor_app() -> Flask:
    app = Flask("floor")

    @app.get("/<code>")
    def follow(code):
        return redirect(TARGET, 302)

    return app


@pytest.fixture
def codes(client) -> list[str]:
    made = [
        client.post("/api/links", json={"url": f"{TARGET}&n={i}"}).get_json()["code"]
        for i in range(50)
    ]
    assert len(set(made)) == 50
    return made


def run_rounds(benchmark, wsgi_app, paths: list[str], setup=None) -> tuple[str, dict]:
    cycle = iter(paths * (ROUNDS * ITERATIONS + 1))

    def one():
        return call(wsgi_app, next(cycle))

    if setup is None:
        return benchmark.pedantic(one, rounds=ROUNDS, iterations=ITERATIONS)
    return benchmark.pedantic(one, setup=setup, rounds=ROUNDS, iterations=1)


def test_floor_constant_redirect(benchmark):
    status, headers = run_rounds(benchmark, floor_app(), ["/abc"])
    assert status.startswith("302")
    assert headers["Location"] == TARGET


def test_redirect_from_cache(benchmark, app, codes, capsys):
    status, headers = run_rounds(benchmark, app, [f"/{code}" for code in codes])
    assert status.startswith("302")
    assert headers["Location"].startswith(TARGET)
    capsys.readouterr()  # the request log lines


def test_redirect_from_database(benchmark, app, codes, capsys):
    status, headers = run_rounds(benchmark, app, [f"/{code}" for code in codes], resolver.clear)
    assert status.startswith("302")
    assert headers["Location"].startswith(TARGET)
    capsys.readouterr()
