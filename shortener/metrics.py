"""Prometheus metrics: defined once per process, summed over gunicorn workers at /metrics.

Under gunicorn, gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker imports
prometheus_client, so every worker writes its figures to files there and /metrics adds
them up (the client's multiprocess mode). Without it (tests, `flask run`) the figures are
this process's own.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def process_id() -> int:
    """This process's id, kept up to date across forks without a system call per use."""
    return _pid


def multiprocess_dir() -> str | None:
    """The directory the workers share their figures in, when running multiprocess."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


if multiprocess_dir():
    # The client asks for the pid on every increment (to notice a fork), which is a system
    # call each time; a pid refreshed at fork answers the same question for free.
    values.ValueClass = values.MultiProcessValue(process_identifier=process_id)

# A redirect takes about a millisecond; anything past a few seconds is an outage.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

REQUESTS = Counter(
    "shortener_http_requests_total",
    "HTTP requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "shortener_http_request_duration_seconds",
    "Time from the start of the request to the response, by Flask endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
LINKS_CREATED = Counter("shortener_links_created_total", "Links stored (form, API or CLI).")
REDIRECTS = Counter("shortener_redirects_total", "Short links followed (redirects and downloads).")
DB_ERRORS = Counter(
    "shortener_db_errors_total",
    "Requests and readiness checks that failed because the database was unreachable or slow.",
)

# labels() validates and locks on every call; the set of label values is small and fixed
# by the routes, so keep the children in plain dicts (a lost race only creates one twice).
_request_children: dict[tuple[str, str, int], object] = {}
_latency_children: dict[str, object] = {}


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and record its duration."""
    key = (endpoint, method, status)
    counter = _request_children.get(key)
    if counter is None:
        counter = _request_children[key] = REQUESTS.labels(endpoint, method, str(status))
    histogram = _latency_children.get(endpoint)
    if histogram is None:
        histogram = _latency_children[endpoint] = LATENCY.labels(endpoint)
    counter.inc()
    histogram.observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The current figures in Prometheus text format, and their content type."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry), CONTENT_TYPE_LATEST
