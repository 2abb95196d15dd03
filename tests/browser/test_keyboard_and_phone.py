"""Without a mouse, and on a phone: the whole flow still works."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PHONE
from tests.browser.target_site import TITLE

# What has keyboard focus, and whether a visible ring marks it.
FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return {id: el.id, text: el.textContent.trim(), visible: el.matches(":focus-visible") && ring};
}"""
# Every form control that a person can reach, and whether a <label> names it.
UNLABELLED = """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter((el) => el.labels.length === 0 || !el.labels[0].textContent.trim())
  .map((el) => el.id || el.name)"""


def tab_to(page: Page, element_id: str, limit: int = 15) -> None:
    """Press Tab until `element_id` has focus, checking each stop shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        assert focus["visible"], f"no visible focus ring on {focus}"
        if focus["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_keyboard_only(page: Page, app_url: str, target_origin: str):
    page.goto("/")
    assert page.evaluate(UNLABELLED) == []
    # The URL field has focus on arrival, so a paste works at once.
    expect(page.get_by_label("Long URL")).to_be_focused()
    page.keyboard.type(f"{target_origin}/by-keyboard")
    tab_to(page, "code")
    page.keyboard.type("by-keyboard")
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{app_url}/by-keyboard+")
    assert page.evaluate(UNLABELLED) == []
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert page.evaluate(FOCUS)["visible"]
    page.bring_to_front()  # the Clipboard API only serves the focused document
    tab_to(page, "copy")
    page.keyboard.press("Enter")
    expect(page.locator("#copy-status")).to_have_text("Short link copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{app_url}/by-keyboard"
    tab_to(page, "open")
    page.keyboard.press("Enter")
    expect(page).to_have_title(TITLE)


def test_keyboard_submit_button_and_error_focus(page: Page):
    page.goto("/")
    tab_to(page, "code")
    page.keyboard.type("no url given")
    page.keyboard.press("Tab")
    focus = page.evaluate(FOCUS)
    assert focus["text"] == "Shorten" and focus["visible"]
    page.keyboard.press("Enter")
    expect(page.locator("#url-error")).to_have_text("Please enter a URL to shorten.")
    expect(page.get_by_label("Long URL")).to_be_focused()


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"page is {widths[0]}px wide in a {widths[1]}px viewport"


def reachable(page: Page, name: str) -> None:
    """The button is on screen once scrolled to, wide and tall enough for a thumb."""
    button = page.get_by_role("button", name=name)
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport()
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= 44, f"the {name} button is {box['height']}px tall"


def test_phone_viewport(
    new_context: Callable[..., BrowserContext], app_url: str, target_origin: str
):
    context = new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto("/")
    no_horizontal_scroll(page)
    reachable(page, "Shorten")
    page.get_by_label("Long URL").fill(f"{target_origin}/" + "a-rather-long-path/" * 12)
    page.get_by_label("Custom name").fill("on-the-phone-with-a-long-custom-name-x" * 1)
    page.get_by_role("button", name="Shorten").tap()

    expect(page).to_have_url(f"{app_url}/on-the-phone-with-a-long-custom-name-x+")
    no_horizontal_scroll(page)
    reachable(page, "Copy")
    page.bring_to_front()
    page.get_by_role("button", name="Copy").tap()
    expect(page.locator("#copy-status")).to_have_text("Short link copied to the clipboard.")

    # A generated code is short enough to be read whole, without scrolling the field.
    page.goto("/")
    page.get_by_label("Long URL").fill(f"{target_origin}/generated")
    page.get_by_role("button", name="Shorten").tap()
    expect(page.locator("#copy")).to_be_visible()
    assert page.locator("#short-url").evaluate("(el) => el.scrollWidth <= el.clientWidth")

    page.goto("/")
    no_horizontal_scroll(page)
    page.get_by_role("button", name="Shorten").tap()
    expect(page.locator("#url-error")).to_be_visible()
    no_horizontal_scroll(page)
    page.goto("/no-such-link")
    no_horizontal_scroll(page)
