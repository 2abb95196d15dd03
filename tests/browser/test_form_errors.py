"""Refused input: the message sits next to the field, what was typed stays, no 500."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.target_site import TITLE


def submit(page: Page, url: str = "", code: str = "") -> Response:
    """Fill the form and press Shorten; return the response to the form's post."""
    page.goto("/")
    page.get_by_label("Long URL").fill(url)
    page.get_by_label("Custom name").fill(code)
    with page.expect_response(lambda response: response.url.endswith("/shorten")) as posted:
        page.get_by_role("button", name="Shorten").click()
    page.wait_for_load_state()
    return posted.value


def assert_error_next_to(page: Page, field: str, message: str) -> None:
    """The field is marked invalid, described by its message, which sits just below it."""
    error = page.locator(f"#{field}-error")
    expect(error).to_have_text(message)
    expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{field}")).to_have_attribute("aria-describedby", f"{field}-error")
    field_box = page.locator(f"#{field}").bounding_box()
    error_box = error.bounding_box()
    assert field_box is not None and error_box is not None
    gap = error_box["y"] - (field_box["y"] + field_box["height"])
    assert 0 <= gap < 24, f"the message is {gap}px away from its field"
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", f"#{field}")


def test_custom_name(page: Page, app_url: str, target_origin: str):
    submit(page, f"{target_origin}/custom", "spring-sale")
    assert page.url == f"{app_url}/spring-sale+"
    expect(page.locator("#short-url")).to_have_value(f"{app_url}/spring-sale")
    page.goto("/spring-sale")
    expect(page).to_have_title(TITLE)


def test_taken_name_keeps_the_input_and_explains(page: Page, target_origin: str):
    submit(page, f"{target_origin}/first", "taken-name")
    response = submit(page, f"{target_origin}/second", "taken-name")
    assert response.status == 409
    assert_error_next_to(page, "code", "The name “taken-name” is already taken.")
    expect(page.get_by_label("Long URL")).to_have_value(f"{target_origin}/second")
    expect(page.get_by_label("Custom name")).to_have_value("taken-name")
    expect(page.get_by_label("Custom name")).to_be_focused()
    page.get_by_label("Custom name").fill("taken-name-2")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#short-url")).to_have_value(f"{page.url.rsplit('/', 1)[0]}/taken-name-2")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "Only http:// and https:// links can be shortened."),
        ("https://exa mple.com/", "A URL cannot contain spaces or control characters."),
        ("", "Please enter a URL to shorten."),
    ],
    ids=["not-http", "spaces", "empty-form"],
)
def test_invalid_url_is_explained_without_a_server_error(page: Page, url: str, message: str):
    response = submit(page, url)
    assert response.status == 400
    assert_error_next_to(page, "url", message)
    expect(page.get_by_label("Long URL")).to_have_value(url)
    expect(page.get_by_label("Long URL")).to_be_focused()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shorten a link")
