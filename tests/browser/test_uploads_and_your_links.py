"""A file behind a short link, and the list of links this browser made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

PRICE_LIST = b"item,price\nrunning shoes,120\n"


def test_upload_a_file_and_download_it_by_its_short_link(page: Page, app_url: str):
    page.goto("/")
    page.get_by_label("upload a file").set_input_files(
        {"name": "price-list.csv", "mimeType": "text/csv", "buffer": PRICE_LIST}
    )
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator(".details")).to_contain_text("price-list.csv")
    short_url = page.locator("#short-url").input_value()

    with page.expect_download() as started:
        page.get_by_role("link", name="Download the file").click()
    download = started.value
    assert download.url == short_url
    assert download.suggested_filename == "price-list.csv"
    assert Path(download.path()).read_bytes() == PRICE_LIST


def shorten(page: Page, url: str, code: str) -> None:
    page.goto("/")
    page.get_by_label("Long URL").fill(url)
    page.get_by_label("Custom name").fill(code)
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#short-url")).to_be_visible()


def your_links(page: Page) -> list[str]:
    section = page.get_by_role("region", name="Your links")
    return section.locator("a.short").all_inner_texts()


def test_your_links_are_this_browsers_only(
    new_context: Callable[..., BrowserContext], app_url: str, target_origin: str
):
    mine = new_context().new_page()
    shorten(mine, f"{target_origin}/one", "mine-one")
    shorten(mine, f"{target_origin}/two", "mine-two")
    mine.goto("/")
    assert your_links(mine) == [f"{app_url}/mine-two", f"{app_url}/mine-one"]
    mine.reload()
    assert your_links(mine) == [f"{app_url}/mine-two", f"{app_url}/mine-one"]
    mine.get_by_role("link", name=f"{app_url}/mine-one").click()
    expect(mine.locator("#short-url")).to_have_value(f"{app_url}/mine-one")

    theirs = new_context().new_page()
    theirs.goto("/")
    assert your_links(theirs) == []
    expect(theirs.get_by_role("region", name="Your links")).to_contain_text(
        "Links you make in this browser will appear here."
    )
    shorten(theirs, f"{target_origin}/three", "theirs-three")
    theirs.goto("/")
    assert your_links(theirs) == [f"{app_url}/theirs-three"]
    mine.goto("/")
    assert your_links(mine) == [f"{app_url}/mine-two", f"{app_url}/mine-one"]
