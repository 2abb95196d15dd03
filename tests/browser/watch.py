"""Watch a browser context for what a trustworthy page never does: console errors, CSP
violations, and requests to any origin but the ones we serve."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response

# Runs in every document before the page's own scripts; reports each violation to Python
# through the binding below (exposed bindings survive navigations, window state does not).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${event.documentURI}`
  );
});
"""
LOCAL_SCHEMES = {"data", "blob", "about"}


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Watch:
    """What one browser context did that it should not have."""

    allowed_origins: set[str]
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    # Documents the app answered with an error status on purpose (a refused form, a 404);
    # Chromium logs each as a console error, which is expected and checked separately.
    error_documents: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        """Start watching `context` and every page opened in it."""
        context.expose_function("__reportCspViolation", self._on_csp_violation)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("page", self._on_page)
        for page in context.pages:
            self._on_page(page)

    def _on_page(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))

    def _on_csp_violation(self, report: str) -> None:
        self.csp_violations.append(report)

    def _on_request(self, request: Request) -> None:
        url = request.url
        if urlsplit(url).scheme in LOCAL_SCHEMES:
            return
        if origin(url) not in self.allowed_origins:
            self.foreign_requests.append(url)

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type == "document":
            self.error_documents.append(f"{response.status} {response.url}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        if text.startswith("Failed to load resource: the server responded with a status of"):
            location = message.location.get("url", "")
            if any(doc.endswith(f" {location}") for doc in self.error_documents):
                return
        self.console_errors.append(text)

    def problems(self) -> list[str]:
        """Every console error, CSP violation and foreign request seen so far."""
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"CSP violation: {text}" for text in self.csp_violations]
            + [f"request to another origin: {url}" for url in self.foreign_requests]
        )
