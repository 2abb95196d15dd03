"""Screenshots of the home and info pages, desktop and phone, for the README.

They are taken from a real run on a dedicated app whose content is pinned (public origin,
names, creation times), so an image only changes when the pages' look does.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, serve_app
from tests.support.servers import ROOT

IMAGES = ROOT / "docs" / "img"
PUBLIC_ORIGIN = "https://go.example"
LINKS = [
    ("https://www.example.com/blog/2026/how-we-keep-a-20-minute-a-year-promise", "sla-promise"),
    (
        "https://shop.example.com/collections/spring/running-shoes?utm_source=newsletter"
        "&utm_medium=email&utm_campaign=spring-launch",
        "spring-sale",
    ),
]
UPLOAD = {
    "name": "spring-lookbook.pdf",
    "mimeType": "application/pdf",
    "buffer": b"%PDF-1.7\n" * 4096,
}
CREATED = ["2026-03-02 09:15:00.000000", "2026-03-09 14:40:00.000000", "2026-03-16 08:05:00.000000"]


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An app whose short links read https://go.example/…; yield its URL and database."""
    directory = tmp_path_factory.mktemp("showcase")
    with serve_app(directory, BASE_URL=PUBLIC_ORIGIN) as base_url:
        yield base_url, directory / "shortener.db"


# Chromium's software rasteriser may shade an anti-aliased edge one level differently from
# run to run; a difference that small is not a change worth a new image in git.
SAME_PICTURE = """async ([before, after]) => {
  const pixels = async (png) => {
    const image = new Image();
    image.src = `data:image/png;base64,${png}`;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    return [image.width, image.height, context.getImageData(0, 0, image.width, image.height).data];
  };
  const [w1, h1, a] = await pixels(before);
  const [w2, h2, b] = await pixels(after);
  if (w1 !== w2 || h1 !== h2) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 4) return false;
  return true;
}"""


def save(page: Page, name: str) -> None:
    """Write docs/img/<name>.png unless it already holds the same picture."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effect left from the last click
    page.wait_for_load_state("networkidle")
    image = page.screenshot(full_page=True, animations="disabled", caret="hide")
    path = IMAGES / f"{name}.png"
    if path.exists() and same_picture(page.context, path.read_bytes(), image):
        return
    path.write_bytes(image)


def same_picture(context: BrowserContext, before: bytes, after: bytes) -> bool:
    """Compare two PNGs pixel by pixel in the browser, allowing anti-aliasing noise."""
    scratch = context.new_page()
    try:
        pngs = [base64.b64encode(before).decode(), base64.b64encode(after).decode()]
        return scratch.evaluate(SAME_PICTURE, pngs)
    finally:
        scratch.close()


def make_links(page: Page, database: Path) -> None:
    """Make the showcase links through the form, then pin their creation times."""
    for url, code in LINKS[:1]:
        fill_and_shorten(page, url=url, code=code)
    page.goto("/")
    page.get_by_label("upload a file").set_input_files(UPLOAD)
    page.get_by_label("Custom name").fill("lookbook")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#short-url")).to_have_value(f"{PUBLIC_ORIGIN}/lookbook")
    for url, code in LINKS[1:]:
        fill_and_shorten(page, url=url, code=code)
    with sqlite3.connect(database) as connection:
        for code, created in zip(("sla-promise", "lookbook", "spring-sale"), CREATED, strict=True):
            connection.execute("UPDATE links SET created_at = ? WHERE code = ?", (created, code))
    connection.close()


def fill_and_shorten(page: Page, url: str, code: str) -> None:
    page.goto("/")
    page.get_by_label("Long URL").fill(url)
    page.get_by_label("Custom name").fill(code)
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#short-url")).to_have_value(f"{PUBLIC_ORIGIN}/{code}")


def test_screenshots(new_context: Callable[..., BrowserContext], showcase: tuple[str, Path]):
    base_url, database = showcase
    desktop = new_context(viewport=DESKTOP, base_url=base_url)
    page = desktop.new_page()
    make_links(page, database)

    page.goto("/")
    expect(page.locator("#url")).to_be_focused()
    save(page, "home-desktop")
    page.goto("/spring-sale+")
    save(page, "info-desktop")

    phone = new_context(
        viewport=PHONE,
        base_url=base_url,
        storage_state=desktop.storage_state(),
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = phone.new_page()
    page.goto("/")
    save(page, "home-phone")
    page.goto("/spring-sale+")
    save(page, "info-phone")
