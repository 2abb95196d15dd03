"""The main path: paste a URL, shorten it, copy the short link, follow it."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.target_site import TITLE


def shorten(page: Page, url: str, code: str = "") -> None:
    """Fill the home page's form and press Shorten, as a person would."""
    page.goto("/")
    page.get_by_label("Long URL").fill(url)
    if code:
        page.get_by_label("Custom name").fill(code)
    page.get_by_role("button", name="Shorten").click()


def test_shorten_copy_and_follow(page: Page, app_url: str, target_origin: str):
    target = f"{target_origin}/spring/collection?utm_source=browser-test"
    shorten(page, target)

    short_url = page.locator("#short-url").input_value()
    assert short_url.startswith(f"{app_url}/")
    assert page.url == f"{short_url}+"
    expect(page.get_by_role("heading", level=1)).to_contain_text("short link is ready")
    expect(page.locator("#visits")).to_have_text("0")

    page.bring_to_front()  # the Clipboard API only serves the focused document
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Short link copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == short_url

    page.goto(short_url)
    expect(page).to_have_title(TITLE)
    assert page.url == target


def test_copy_falls_back_when_the_clipboard_api_refuses(
    new_context: Callable[..., BrowserContext], target_origin: str
):
    context = new_context()
    # As in a browser without the async Clipboard API, or one that denies it.
    context.add_init_script(
        "if (navigator.clipboard) {"
        "  navigator.clipboard.writeText = () => Promise.reject(new Error('denied'));"
        "}"
    )
    page = context.new_page()
    shorten(page, f"{target_origin}/fallback")
    short_url = page.locator("#short-url").input_value()
    page.bring_to_front()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Short link copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == short_url
    expect(page.locator("#short-url")).to_be_focused()  # selected by the fallback
