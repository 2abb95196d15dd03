"""Endpoints for the load balancer, the deploy pipeline, the monitor and the on-call engineer."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from shortener import readiness
from shortener.errors import RETRY_AFTER_SECONDS
from shortener.metrics import exposition

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Never touches the database."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: a bounded database round trip, and the schema at this code's head."""
    result = readiness.check(current_app)
    if result.ready:
        return jsonify(status="ok", schema=result.schema, db_ms=result.db_ms)
    response = jsonify(status="unavailable", reasons=result.reasons, db_ms=result.db_ms)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@bp.get("/version")
def version():
    """The running build: {"version", "commit", "built_at"}."""
    return jsonify(current_app.config["BUILD_INFO"])


@bp.get("/metrics")
def metrics():
    """Prometheus text format, summed over every gunicorn worker."""
    body, content_type = exposition()
    return current_app.response_class(body, content_type=content_type)
