"""Real-browser journey: the work of a session is not lost by a reload.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    go_to,
    keep_only_models,
    set_setting,
    start_on_models,
    train_and_wait,
    wait_idle,
)

FOREST = "Random forest"


def test_leaving_the_page_during_a_run_asks_first(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "breast_cancer", "diagnosis")
    keep_only_models(page, [FOREST])
    set_setting(page, FOREST, "models_random_forest_clf_n_estimators", 2000)
    page.locator(".st-key-models_train button").click()
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stProgress").first).to_contain_text("Training", timeout=SLOW)
    page.wait_for_timeout(1500)  # the sidebar's guard is drawn with the page
    page.evaluate("() => { setTimeout(() => window.location.reload(), 0); }")
    page.wait_for_timeout(2000)
    assert any(d.startswith("beforeunload") for d in page.dialogs), page.dialogs
    # Dismissed: still on the same session, the run still going.
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible()
    # Something to record once stopped: the baseline has finished (on a cold cluster it can take longer than 4 s)
    expect(page.get_by_test_id("stProgress").first).to_contain_text(re.compile(r"\b1 of 2 models"), timeout=SLOW)
    page.locator(".st-key-train_stop button").first.click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text(re.compile(r"^Stopped"), timeout=SLOW)
    recorded = page.get_by_text(re.compile(r"recorded as stopped: stopped by you"))
    expect(recorded).to_be_visible(timeout=2 * SLOW)  # the forest's bundle is written to the experiment log
    wait_idle(page)
    # The guard is turned off by the page drawn after the run ended (under load, a rerun or two later).
    page.wait_for_function("() => !window.__nocodeLeave", timeout=SLOW)
    page.dialogs.clear()
    page.evaluate("() => { setTimeout(() => window.location.reload(), 0); }")
    expect(page.get_by_text("Load a dataset first")).to_be_visible(timeout=SLOW)  # a new session
    assert page.dialogs == [], "no warning once nothing is running"


def test_new_data_during_a_run_asks_first(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "breast_cancer", "diagnosis")
    keep_only_models(page, [FOREST])
    set_setting(page, FOREST, "models_random_forest_clf_n_estimators", 2000)
    page.locator(".st-key-models_train button").click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("Training", timeout=SLOW)
    go_to(page, "1. Data")
    page.get_by_test_id("stExpander").filter(has_text="pick a sample dataset").locator("summary").click()
    page.locator(".st-key-data_sample_iris button").click()
    wait_idle(page)
    question = page.get_by_test_id("stAlert").filter(has_text="still going")
    expect(question).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("heading", name="breast_cancer.csv")).to_be_visible()  # nothing replaced yet
    page.locator(".st-key-data_pending_use button").click()
    expect(page.get_by_role("heading", name="iris.csv")).to_be_visible(timeout=SLOW)
    expect(question).to_have_count(0)


def test_after_a_reload_the_last_run_comes_back_in_one_click(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "iris", "species")
    keep_only_models(page, ["Logistic regression"])
    train_and_wait(page, "Train 1 model + baseline")
    expect(page.get_by_text(re.compile(r"Recorded 2 model runs"))).to_be_visible(timeout=2 * SLOW)
    assert "ws=" in page.url, page.url
    page.reload()  # nothing is running: no question, a new session in the same workspace
    go_to(page, "1. Data")  # the sidebar is there although the page (Train) is locked in a new session
    offer = page.get_by_text(re.compile(r"Your last run: iris"))
    expect(offer).to_be_visible(timeout=SLOW)
    page.locator(".st-key-data_restore button").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Restored 2 trained models")).to_be_visible(timeout=SLOW)
    go_to(page, "6. Results")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=SLOW)
    assert page.dialogs == []
