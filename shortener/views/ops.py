"""Endpoints for the load balancer, the deploy pipeline and the on-call engineer."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from shortener.extensions import db

bp = Blueprint("ops", __name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
READY_STATEMENT_TIMEOUT_MS = 2000


@cache
def schema_head() -> str | None:
    """The newest migration revision this code expects (read once, on first use)."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Never touches the database."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: a real database round trip, and the schema at this code's head."""
    reasons: list[str] = []
    started = time.perf_counter()
    expected = schema_head()
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Bounded: a hung database must fail the check, not hang the load balancer.
                conn.execute(sa.text(f"SET LOCAL statement_timeout = {READY_STATEMENT_TIMEOUT_MS}"))
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if current != expected:
            reasons.append(f"schema is at {current or 'nothing'}, this version needs {expected}")
    except SQLAlchemyError as exc:
        reasons.append(
            f"database unavailable: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    if reasons:
        response = jsonify(status="unavailable", reasons=reasons, db_ms=elapsed_ms)
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(status="ok", db_ms=elapsed_ms, schema=expected)


@bp.get("/version")
def version():
    return jsonify(current_app.config["BUILD_INFO"])
