"""Real-browser journey through page 9: a training run is recorded, listed, compared and reloaded.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py). The app
records into the throw-away MLflow store set up in tests/conftest.py.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    full_page_screenshot,
    go_to,
    keep_only_models,
    screenshot_path,
    start_on_models,
    train_and_wait,
    wait_idle,
)

SCREENSHOT = screenshot_path("screenshot-experiments.png")
LOGISTIC = "Logistic regression"


def tick(page: Page, text: str) -> None:
    """Add the newest run whose label contains ``text`` to the comparison."""
    box = page.locator(".st-key-experiments_compare input")
    box.click()
    box.fill(text)
    option = page.get_by_role("option").filter(has_text=text).first
    expect(option).to_be_visible(timeout=SLOW)
    option.click()
    wait_idle(page)
    page.keyboard.press("Escape")


def test_a_run_is_recorded_listed_compared_and_reloaded(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "iris", "species")
    keep_only_models(page, [LOGISTIC])
    train_and_wait(page, "Train 1 model + baseline")
    expect(page.get_by_text(re.compile(r"Recorded 2 model runs in the experiment log"))).to_be_visible(timeout=SLOW)

    go_to(page, "9. Experiments")
    expect(page.get_by_text("Runs are recorded in a local SQLite file")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    tick(page, f"{LOGISTIC} · iris.csv")
    tick(page, "Baseline · iris.csv")
    expect(page.get_by_text(re.compile(r"\d+ of \d+ parameters differ between these runs"))).to_be_visible(timeout=SLOW)
    chart = page.locator(".st-key-experiments_metrics_chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=SLOW)
    assert chart.evaluate("el => el.data.length") == 2
    expect(page.get_by_test_id("stCode").filter(has_text="python -m core.serving --model-uri runs:/")).to_have_count(1)
    assert_clean(page)
    full_page_screenshot(page, SCREENSHOT)

    page.locator(".st-key-experiments_reload button").click()
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="is loaded")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stCode").filter(has_text="curl -s -X POST")).to_have_count(1)
    go_to(page, "8. Predict")
    picker = page.locator(".st-key-predict_model")
    picker.click()
    expect(page.get_by_role("option").filter(has_text="(experiment run ")).to_have_count(1, timeout=SLOW)
    page.keyboard.press("Escape")
    assert_clean(page)
