"""Schemathesis fuzzes the JSON API from its OpenAPI document, in process (WSGI), on SQLite
and PostgreSQL: no 500s, and every status, content type, header and body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from shortener.openapi import openapi_document
from tests.conftest import BASE_URL

# The document the app serves at /openapi.json (checked below), loaded without an app so
# that the cases can be generated when the tests are collected.
schema = schemathesis.openapi.from_dict(openapi_document(BASE_URL))

# Fields whose rules go beyond what a schema can say: a URL's host (look-alikes, the
# blocklist, our own host), reserved names, an expiry in the past, an empty file.
SEMANTIC_FIELDS = {"url", "code", "expires_at", "file"}


def valid_data_is_refused_only_for_a_rule_of_its_field(ctx, response, case):
    """positive_data_acceptance, less the refusals a JSON Schema cannot foresee: data valid
    by the document may get a 400 only for one of those rules, naming the field."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 400:
        field = response.json()["error"].get("field")
        assert field in SEMANTIC_FIELDS, f"valid data refused with {response.json()}"
        return None
    assert response.status_code < 400 or response.status_code in {401, 403, 404, 409}, (
        f"valid data refused with {response.status_code}"
    )
    return None


@pytest.fixture
def app(seeded_app):
    return seeded_app


def test_the_fuzzed_document_is_the_served_one(client):
    assert client.get("/openapi.json").get_json() == openapi_document(BASE_URL)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_api_keeps_to_its_openapi_document(app, case):
    case.call_and_validate(
        app=app,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_data_is_refused_only_for_a_rule_of_its_field],
    )
