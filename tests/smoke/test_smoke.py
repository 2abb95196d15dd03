"""The real user paths, over HTTP, against any deployment: what the incident's tests never did."""

from __future__ import annotations

import secrets
from html.parser import HTMLParser

import requests

from tests.smoke.target import CODE_PREFIX, TIMEOUT, SmokeTarget

REDIRECTS = {301, 302, 303, 307, 308}  # REDIRECT_STATUS is configurable; 302 by default


class FormInputs(HTMLParser):
    """Collect the name and value of every <input> on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms += 1
        elif tag == "input" and attributes.get("name"):
            self.inputs[attributes["name"] or ""] = attributes.get("value") or ""


def page_inputs(html: str) -> FormInputs:
    parser = FormInputs()
    parser.feed(html)
    return parser


def assert_redirects_to(smoke_target: SmokeTarget, code: str, target: str) -> None:
    response = requests.get(smoke_target.url(f"/{code}"), allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code in REDIRECTS, f"GET /{code} gave {response.status_code}"
    assert response.headers["Location"] == target


def test_liveness_and_readiness(smoke_target: SmokeTarget) -> None:
    for path in ("/healthz", "/readyz"):
        response = requests.get(smoke_target.url(path), timeout=TIMEOUT)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"


def test_version_is_the_expected_one(smoke_target: SmokeTarget) -> None:
    response = requests.get(smoke_target.url("/version"), timeout=TIMEOUT)
    assert response.status_code == 200
    version = response.json()["version"]
    if smoke_target.expected_version:
        assert version == smoke_target.expected_version, "a different version is serving"


def test_home_page_offers_the_shorten_form(
    smoke_target: SmokeTarget, http: requests.Session
) -> None:
    response = http.get(smoke_target.url("/"), timeout=TIMEOUT)
    assert response.status_code == 200
    page = page_inputs(response.text)
    assert page.forms >= 1
    assert {"url", "code", "csrf_token"} <= set(page.inputs)


def test_shorten_through_the_form_like_a_browser(
    smoke_target: SmokeTarget, http: requests.Session, new_link: tuple[str, str]
) -> None:
    code, target = new_link
    home = http.get(smoke_target.url("/"), timeout=TIMEOUT)
    csrf_token = page_inputs(home.text).inputs["csrf_token"]
    response = http.post(
        smoke_target.url("/shorten"),
        data={"url": target, "code": code, "csrf_token": csrf_token},
        headers={"Referer": smoke_target.url("/")},  # CSRF protection checks it over HTTPS
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 303, f"POST /shorten gave {response.status_code}"
    smoke_target.created.append(code)
    assert response.headers["Location"].endswith(f"/{code}+")

    short_url = http.get(smoke_target.url(f"/api/links/{code}"), timeout=TIMEOUT).json()[
        "short_url"
    ]
    info = http.get(smoke_target.url(f"/{code}+"), timeout=TIMEOUT)
    assert info.status_code == 200
    assert short_url in info.text
    assert_redirects_to(smoke_target, code, target)


def test_shorten_through_the_api(
    smoke_target: SmokeTarget, http: requests.Session, new_link: tuple[str, str]
) -> None:
    code, target = new_link
    response = http.post(
        smoke_target.url("/api/links"), json={"url": target, "code": code}, timeout=TIMEOUT
    )
    assert response.status_code == 201, f"POST /api/links gave {response.status_code}"
    smoke_target.created.append(code)
    link = response.json()
    assert link["code"] == code
    assert link["url"] == target
    assert link["short_url"].endswith(f"/{code}")
    assert_redirects_to(smoke_target, code, target)


def test_unknown_code_is_404(smoke_target: SmokeTarget) -> None:
    code = f"{CODE_PREFIX}missing-{secrets.token_hex(6)}"
    response = requests.get(smoke_target.url(f"/{code}"), allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 404
