"""Real-browser journey to the Present page: the slides move with the keyboard inside the page, and download.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    download,
    full_page_screenshot,
    go_to,
    keep_only_models,
    screenshot_path,
    start_on_models,
    train_and_wait,
    wait_idle,
)

SCREENSHOT = screenshot_path("screenshot-present.png")
LOGISTIC = "Logistic regression"
SLIDES = 6  # headline, leaderboard, confusion matrix, drivers, summary, caveats


def test_slides_move_with_the_keyboard_and_download_as_one_file(page_app: Page, tmp_path: Path) -> None:
    page = page_app
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    start_on_models(page, "iris", "species")
    keep_only_models(page, [LOGISTIC])
    train_and_wait(page, "Train 1 model + baseline")

    # From the Results page's link to the slides.
    go_to(page, "6. Results")
    page.get_by_test_id("stPageLink-NavLink").filter(has_text="Present: the run as slides").click()
    expect(page.get_by_role("heading", name="Present")).to_be_visible(timeout=SLOW)
    wait_idle(page)
    assert_clean(page)

    frame = page.locator("iframe[title^='The slides']")  # the page's other frames (leave guard) are not it
    expect(frame).to_have_count(1, timeout=SLOW)
    deck = frame.content_frame
    counter = deck.locator("#counter")
    expect(counter).to_have_text(f"1 / {SLIDES}", timeout=SLOW)
    expect(deck.locator(".slide.active h1")).to_have_text(f"{LOGISTIC} predicting species")
    expect(deck.locator(".slide.active .value").first).to_be_visible()

    deck.locator(".slide.active h1").click()  # the keys go to the frame that has the focus
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"3 / {SLIDES}")
    third = deck.locator(".slide.active")
    expect(third.locator("h2")).to_have_text("Confusion matrix")
    expect(third.locator(".figure .main-svg").first).to_be_visible(timeout=SLOW)  # drawn offline, in the frame
    expect(deck.locator(".slide:not(.active)").first).to_be_hidden()
    page.keyboard.press("End")
    expect(counter).to_have_text(f"{SLIDES} / {SLIDES}")
    expect(deck.locator(".slide.active h2")).to_have_text("Caveats")
    page.keyboard.press("Home")
    expect(counter).to_have_text(f"1 / {SLIDES}")
    deck.get_by_role("button", name="Next slide").click()
    expect(counter).to_have_text(f"2 / {SLIDES}")
    page.keyboard.press("ArrowRight")  # a clicked button keeps no focus: the key moves one slide, not two
    expect(counter).to_have_text(f"3 / {SLIDES}")
    full_page_screenshot(page, SCREENSHOT)

    saved = download(page, page.locator(".st-key-present_download button"), tmp_path)
    assert saved.name == "slides-logistic-regression.html"
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count("<section class=") == SLIDES
    assert text.count("* plotly.js v") == 1
    assert not re.search(r"<script[^>]*\bsrc=|<link\b", text), "the file loads nothing from elsewhere"

    # The file alone, opened from disk: the same slides and keys.
    offline = page.context.new_page()
    try:
        offline.goto(saved.as_uri())
        offline.keyboard.press("PageDown")
        expect(offline.locator("#counter")).to_have_text(f"2 / {SLIDES}")
        expect(offline.locator(".slide.active h2")).to_have_text("Models compared")
        expect(offline.locator(".slide.active .figure .main-svg").first).to_be_visible(timeout=SLOW)
    finally:
        offline.close()
    assert errors == [], errors
