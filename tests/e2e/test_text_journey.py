"""Real-browser journey with text: the spam messages, the Keras text network beside a TF-IDF model, its live
curves and the leaderboard, then the Explain page's words for one message.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    choose,
    full_page_screenshot,
    go_to,
    keep_only_models,
    open_settings,
    run_status,
    screenshot_path,
    set_setting,
    start_on_models,
    wait_idle,
)

SCREENSHOT = screenshot_path("screenshot-words.png")
TEXT = "Text network (Keras)"
LOGISTIC = "Logistic regression"
POINTS = "el => (el.data && el.data[0] && el.data[0].x) ? el.data[0].x.length : -1"
Y_LABELS = "el => (el.data && el.data[0] && el.data[0].y) ? Array.from(el.data[0].y).map(String) : []"


def chart(page: Page, key: str, script: str, empty):
    """``script`` evaluated on the chart with ``key``, or ``empty`` while it is not drawn (or being redrawn)."""
    found = page.locator(f".st-key-{key} .js-plotly-plot")
    try:
        return found.first.evaluate(script) if found.count() else empty
    except PlaywrightError:
        return empty


def test_a_text_network_learns_the_messages_and_shows_the_words_that_pushed_one(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "spam", "label")

    # Models: the text network is offered (the message column is text) beside a TF-IDF model; one fit each.
    choose(page.locator(".st-key-models_cv [data-testid='stSelectbox']"), "off")
    wait_idle(page)
    keep_only_models(page, [LOGISTIC, TEXT])
    set_setting(page, TEXT, "models_keras_text_epochs", 15)
    open_settings(page, TEXT)
    layers = page.locator(".st-key-models_chosen").locator("xpath=following::*[@data-testid='stDataFrame']").first
    expect(layers).to_be_visible(timeout=SLOW)  # its own layer table: words, embedding, pooling
    expect(page.get_by_text(re.compile(r"^At most [\d,]+ parameters"))).to_be_visible(timeout=SLOW)
    assert_clean(page)
    train = page.locator(".st-key-models_train button")
    expect(train).to_have_text(re.compile(r"Train 2 models"))
    train.click()

    # Train: the network's curves grow epoch by epoch (or, if it was quicker than a look, are drawn at the end).
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    deadline, live = time.monotonic() + 120, 0
    while not re.match(r"^(Finished|Stopped) (\d+) of \2 models", run_status(page)):
        live = max(live, chart(page, "train_live_curves", POINTS, -1))
        assert time.monotonic() < deadline, f"the run did not end; status: {run_status(page)!r}"
        page.wait_for_timeout(200)
    expect(page.get_by_test_id("stProgress").first).to_contain_text(re.compile(r"^Finished 3 of 3 models"))
    while not {TEXT, LOGISTIC} <= set(chart(page, "train_leaderboard_chart", Y_LABELS, [])):  # redrawn each second
        assert time.monotonic() < deadline, chart(page, "train_leaderboard_chart", Y_LABELS, [])
        page.wait_for_timeout(200)
    expect(page.locator(".st-key-train_final_curves .js-plotly-plot")).to_be_visible(timeout=SLOW)
    assert live >= 1 or chart(page, "train_final_curves", POINTS, -1) >= 1, "no curve of the text network"
    assert_clean(page)

    # Explain: the text network's words, overall and for one message, marked in its text.
    go_to(page, "7. Explain")
    choose(page.locator(".st-key-explain_model"), TEXT)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Words")).to_be_visible(timeout=SLOW)
    page.locator(".st-key-explain_words_on label").click()
    wait_idle(page)
    overall = page.locator(".st-key-explain_words_overall .js-plotly-plot")
    expect(overall).to_be_visible(timeout=90_000)  # in this process, or on the cluster with a progress bar
    assert len(chart(page, "explain_words_overall", Y_LABELS, [])) >= 5
    row_chart = page.locator(".st-key-explain_words_row_chart .js-plotly-plot")
    expect(row_chart).to_be_visible(timeout=SLOW)
    row_words = chart(page, "explain_words_row_chart", Y_LABELS, [])
    assert row_words, "the row's words"
    expect(page.get_by_text(re.compile(r"with this text, [\d.]+ with no text in message"))).to_be_visible()
    marked = page.get_by_test_id("stMarkdown").locator("span[style*='background']")
    expect(marked.first).to_be_visible(timeout=SLOW)  # the pushing words, marked in the message
    assert_clean(page)
    full_page_screenshot(page, SCREENSHOT)
