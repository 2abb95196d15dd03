"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, Response

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Downloads are never rendered from our origin, but if one were, it could do nothing.
DOWNLOAD_CSP = "sandbox; default-src 'none'"

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def default_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers every response carries unless it sets its own."""
    defaults = [*_HEADERS.items(), ("Content-Security-Policy", CSP)]
    if app.config["BASE_URL"].startswith("https://"):
        defaults.append(("Strict-Transport-Security", "max-age=31536000"))
    return defaults


def register_security_headers(app: Flask) -> None:
    defaults = default_headers(app)

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in defaults:
            response.headers.setdefault(name, value)
        return response
