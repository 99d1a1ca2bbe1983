"""Real-browser journey: no target → anomaly detection on the maintenance sample → the Results page's
threshold slider, the most unusual rows and what makes one unusual.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    choose,
    full_page_screenshot,
    go_to,
    keep_only_models,
    screenshot_path,
    train_and_wait,
    wait_idle,
)

NO_TARGET = "∅ no target: group similar rows or flag unusual ones"
COUNT = re.compile(r"([\d,]+) of ([\d,]+) validation rows above the threshold")


def _count(page: Page) -> tuple[int, int]:
    """The "N of M validation rows above the threshold" the slider's count says."""
    text = page.get_by_test_id("stMarkdown").filter(has_text=COUNT).first.inner_text()
    found = COUNT.search(text)
    assert found, text
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def test_anomaly_detection_on_the_maintenance_sample(page_app: Page) -> None:
    page = page_app
    page.goto(page.base_url)
    page.locator(".st-key-data_sample_predictive_maintenance button").click()
    expect(page.get_by_role("heading", name="predictive_maintenance.csv")).to_be_visible(timeout=SLOW)
    wait_idle(page)

    go_to(page, "2. Target")
    choose(page.locator("[class*='st-key-target_column_'] [data-testid='stSelectbox']"), NO_TARGET)
    wait_idle(page)
    task = page.locator("[class*='st-key-target_task_'][class*='_None']")  # the task box of "no target"
    expect(task).to_contain_text("anomaly detection", timeout=SLOW)
    task.get_by_text("anomaly detection", exact=True).click()
    wait_idle(page)
    page.locator(".st-key-target_confirm button").click()
    saved = page.get_by_test_id("stAlert").filter(has_text="Saved:")
    expect(saved).to_contain_text("anomaly detection on 7 features", timeout=SLOW)  # failure left out
    wait_idle(page)

    go_to(page, "3. Clean")
    go_to(page, "4. Models")
    keep_only_models(page, ["Isolation forest"])
    train_and_wait(page, "Train 1 model")
    expect(page.get_by_text("Chosen: Isolation forest.")).to_be_visible(timeout=SLOW)

    go_to(page, "6. Results")
    slider = page.locator("[class*='st-key-results_anomaly_at_']")
    expect(slider).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stMarkdown").filter(has_text=COUNT)).to_have_count(1, timeout=SLOW)
    flagged, total = _count(page)
    assert total == 750 and 0 < flagged < total * 0.15, (flagged, total)  # about the expected 5%
    expect(page.locator(".st-key-results_anomaly_chart .js-plotly-plot")).to_be_visible(timeout=SLOW)

    # The most unusual rows, and what makes the first one unusual (SHAP on its anomaly score).
    expect(page.locator(".st-key-results_anomaly_rows")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(re.compile(r"What makes row \d+ unusual"))).to_be_visible(timeout=SLOW)
    expect(page.locator(".st-key-results_anomaly_waterfall .js-plotly-plot")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(re.compile(r"The anomaly score for this row is"))).to_be_visible(timeout=SLOW)
    # The maintenance table's recorded failures, left out of the features, check the scores.
    expect(page.get_by_text(re.compile(r"ROC-AUC 0\.\d+: the chance that a row with failure = 1"))).to_be_visible(
        timeout=SLOW
    )

    # Moving the threshold down flags more rows.
    thumb = slider.locator("input[type='range']")  # visually hidden, focusable
    expect(thumb).to_be_attached(timeout=SLOW)
    thumb.focus()
    for _ in range(25):
        page.keyboard.press("ArrowLeft")
    thumb.blur()
    page.wait_for_timeout(500)  # the slider sends its value shortly after the last key
    wait_idle(page)
    expect(page.get_by_test_id("stMarkdown").filter(has_text=COUNT)).not_to_contain_text(
        f"{flagged:,} of", timeout=SLOW
    )
    more, same_total = _count(page)
    assert same_total == total and more > flagged, (flagged, more)
    assert_clean(page)
    full_page_screenshot(page, screenshot_path("screenshot-anomaly.png"))
