"""Schemathesis fuzzes the JSON API from its OpenAPI document, in process (WSGI), on SQLite
and PostgreSQL: no 500s, and every status, content type, header and body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.core.mutations import OperatorKind

from shortener.openapi import openapi_document
from tests.conftest import BASE_URL

# Schemathesis' default refusals for invalid data, plus 413: a body over the JSON size cap
# is refused for its size before its content is read, whatever else is wrong with it.
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

# The document the app serves at /openapi.json (checked below), loaded without an app so
# that the cases can be generated when the tests are collected.
schema = schemathesis.openapi.from_dict(
    openapi_document(BASE_URL),
    config=SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    ),
)

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


def invalid_data_is_refused(ctx, response, case):
    """negative_data_rejection, less type changes inside a multipart form: every value there
    travels as text, so a null or a number arrives as a string the schema accepts (schemathesis
    allows for this in paths and queries only)."""
    mutations = getattr(case.meta.phase.data, "mutations", None) if case.meta else None
    if (
        case.media_type == "multipart/form-data"
        and mutations
        and all(mutation.operator == OperatorKind.CHANGE_TYPE for mutation in mutations)
    ):
        return None
    return negative_data_rejection(ctx, response, case)


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
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
        additional_checks=[
            valid_data_is_refused_only_for_a_rule_of_its_field,
            invalid_data_is_refused,
        ],
    )
