"""The OpenAPI 3.1 description of the JSON API, served at /openapi.json."""

from __future__ import annotations

from shortener.codes import CUSTOM_MAX, CUSTOM_MIN
from shortener.targets import MAX_URL_LENGTH

# What the API accepts, exactly (schemathesis holds the app to it, tests/web/test_openapi_fuzz.py).
# Expiry: RFC 3339 date-times, with the zone optional (UTC then).
EXPIRY_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_URL = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_URL_LENGTH,
    # Only the scheme fits a pattern; the rest of the rules (docs/input-rules.md) answer 400.
    "pattern": "^[\t\n\u000b\f\r ]*[Hh][Tt][Tt][Pp][Ss]?:",
    "description": "An http(s) URL; international names are stored in punycode.",
}


def _optional(pattern: str, description: str) -> dict:
    """A string field matching `pattern`, which may also be sent empty or null."""
    return {
        "anyOf": [
            {"type": "string", "pattern": pattern},
            {"type": "string", "maxLength": 0},
            {"type": "null"},
        ],
        "description": description,
    }


def _form_field(field: dict) -> dict:
    """The same field in a multipart form, where every value is text: null has no spelling
    there (a client that sends the word "null" sends a name)."""
    return {**field, "anyOf": [one for one in field["anyOf"] if one["type"] != "null"]}


_CODE = _optional(
    f"^[A-Za-z0-9_-]{{{CUSTOM_MIN},{CUSTOM_MAX}}}$",
    "A custom name; empty or null for a generated code. Route names are reserved.",
)
_EXPIRY = _optional(
    f"^{EXPIRY_PATTERN}$",
    "When the link stops redirecting (RFC 3339; UTC when no zone is given).",
)

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}


def _error_responses(*statuses: int) -> dict:
    text = {
        400: "Invalid input",
        401: "No bearer token",
        403: "Wrong token",
        404: "No such code",
        409: "Custom name taken",
        413: "Too large",
        415: "Unsupported content type",
        429: "Rate limited: too many creates, or too many requests that ended in 404",
        503: "Database unavailable; retry after Retry-After seconds",
    }
    return {
        str(s): {
            "description": text[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def openapi_document(base_url: str) -> dict:
    link_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Link"}}}
    code_param = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shortener API", "version": "1"},
        "servers": [{"url": base_url}],
        "paths": {
            "/api/links": {
                "post": {
                    "summary": "Create a short link to a URL, or to an uploaded file",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewLink"}
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "code": _form_field(_CODE),
                                        "expires_at": _form_field(_EXPIRY),
                                    },
                                }
                            },
                        },
                    },
                    "responses": {
                        "201": {"description": "Created", "content": link_ref},
                        **_error_responses(400, 409, 413, 415, 429, 503),
                    },
                }
            },
            "/api/links/{code}": {
                "get": {
                    "summary": "A link's details and visit count",
                    "parameters": [code_param],
                    "responses": {
                        "200": {"description": "The link", "content": link_ref},
                        **_error_responses(404, 429, 503),
                    },
                },
                "delete": {
                    "summary": "Disable a link (it answers 410 afterwards)",
                    "security": [{"adminToken": []}],
                    "parameters": [code_param],
                    "responses": {
                        "200": {"description": "Disabled", "content": link_ref},
                        **_error_responses(401, 403, 404, 429, 503),
                    },
                },
            },
            "/api": {
                "get": {
                    "summary": "Codes created by this browser session",
                    "responses": {
                        "200": {
                            "description": "Codes",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"type": "string"}}
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "NewLink": {
                    "type": "object",
                    "required": ["url"],
                    "properties": {"url": _URL, "code": _CODE, "expires_at": _EXPIRY},
                },
                "Link": {
                    "type": "object",
                    "required": ["code", "short_url", "url", "created_at", "status", "visits"],
                    "properties": {
                        "code": {"type": "string"},
                        "short_url": {"type": "string", "format": "uri"},
                        "url": {"type": ["string", "null"]},
                        "file": {"type": ["object", "null"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "expires_at": {"type": ["string", "null"], "format": "date-time"},
                        "disabled_at": {"type": ["string", "null"], "format": "date-time"},
                        "status": {"enum": ["active", "disabled", "expired", "blocked"]},
                        "visits": {"type": "integer"},
                        "info_url": {"type": "string"},
                        "qr_url": {"type": "string"},
                    },
                },
            },
        },
    }
