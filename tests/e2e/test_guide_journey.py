"""Real-browser journey: guided mode is on at a first visit, and its sidebar toggle hides the notes everywhere.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SLOW, assert_clean, full_page_screenshot, go_to, screenshot_path, wait_idle

SCREENSHOT = screenshot_path("screenshot-guide.png")


def switch(page: Page, key: str) -> None:
    """Flip the sidebar toggle with ``key`` and wait for the rerun."""
    page.get_by_test_id("stSidebar").locator(f".st-key-{key} label").click()
    wait_idle(page)


def test_guided_mode_notes_follow_the_sidebar_toggle(page_app: Page) -> None:
    page = page_app
    page.goto(page.base_url)
    toggle = page.locator(".st-key-sidebar_guided input")
    data_note = page.locator(".st-key-guide_data")
    expect(data_note).to_contain_text("Why it matters.", timeout=SLOW)  # on at a first visit
    wait_idle(page)
    expect(data_note).to_contain_text("Classic mistake:")
    expect(toggle).to_be_checked(timeout=SLOW)

    switch(page, "sidebar_guided")
    expect(toggle).not_to_be_checked()
    expect(data_note).to_have_count(0)

    page.locator(".st-key-data_sample_iris button").click()
    expect(page.get_by_role("heading", name="iris.csv")).to_be_visible(timeout=SLOW)
    wait_idle(page)
    expect(data_note).to_have_count(0)
    go_to(page, "2. Target")
    expect(toggle).not_to_be_checked()  # the choice holds on another page
    expect(page.locator(".st-key-guide_target")).to_have_count(0)

    switch(page, "sidebar_guided")
    expect(toggle).to_be_checked()
    expect(page.locator(".st-key-guide_target")).to_contain_text("Leakage", timeout=SLOW)
    expect(page.locator(".st-key-guide_target a", has_text="Leakage")).to_have_attribute(
        "href", "glossary?term=leakage"
    )
    assert_clean(page)
    full_page_screenshot(page, SCREENSHOT)
