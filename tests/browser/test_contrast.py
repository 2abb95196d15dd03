"""Text is readable: WCAG AA contrast on every page, in the light and the dark scheme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

# For each visible text node: its colour against the first opaque background behind it.
# AA asks 4.5:1 for body text and 3:1 for large text (24px, or 18.66px bold).
LOW_CONTRAST = """() => {
  const parse = (value) => {
    const parts = value.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean);
    return {rgb: parts.slice(0, 3).map(Number), alpha: parts.length > 3 ? Number(parts[3]) : 1};
  };
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour.alpha === 1) return colour.rgb;
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor).rgb;
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || !el.getClientRects().length || el.closest(".visually-hidden, .skip")) continue;
    const style = getComputedStyle(el);
    const [light, dark] = [luminance(parse(style.color).rgb), luminance(background(el))]
      .sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${ratio.toFixed(2)}:1 <${el.tagName.toLowerCase()}> “${text.slice(0, 40)}”`);
    }
  }
  return failures;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast(new_context: Callable[..., BrowserContext], target_origin: str, scheme: str):
    page = new_context(color_scheme=scheme).new_page()
    page.goto("/")
    page.get_by_label("Long URL").fill(f"{target_origin}/contrast-{scheme}")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#copy")).to_be_visible()
    page.bring_to_front()
    page.locator("#copy").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    assert page.evaluate(LOW_CONTRAST) == [], page.url

    page.goto("/")
    assert page.evaluate(LOW_CONTRAST) == [], "home page with your links"
    page.get_by_label("Custom name").fill("no url")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#url-error")).to_be_visible()
    assert page.evaluate(LOW_CONTRAST) == [], "home page with an error"
    page.goto("/no-such-link")
    assert page.evaluate(LOW_CONTRAST) == [], "404 page"
