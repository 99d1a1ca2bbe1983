"""Real-browser journey: the work of a session is not lost by a reload.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SLOW, keep_only_models, open_settings, set_number, start_on_models, wait_idle

FOREST = "Random forest"


def test_leaving_the_page_during_a_run_asks_first(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "breast_cancer", "diagnosis")
    keep_only_models(page, [FOREST])
    open_settings(page, FOREST)
    set_number(page, "models_random_forest_clf_n_estimators", 2000)
    page.locator(".st-key-models_train button").click()
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stProgress").first).to_contain_text("Training", timeout=SLOW)
    page.wait_for_timeout(1500)  # the sidebar's guard is drawn with the page
    page.evaluate("() => { setTimeout(() => window.location.reload(), 0); }")
    page.wait_for_timeout(2000)
    assert any(d.startswith("beforeunload") for d in page.dialogs), page.dialogs
    # Dismissed: still on the same session, the run still going.
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible()
    page.locator(".st-key-train_stop button").first.click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text(re.compile(r"^Stopped"), timeout=SLOW)
    recorded = page.get_by_text(re.compile(r"recorded as stopped: stopped by you"))
    expect(recorded).to_be_visible(timeout=2 * SLOW)  # the forest's bundle is written to the experiment log
    wait_idle(page)
    page.dialogs.clear()
    page.evaluate("() => { setTimeout(() => window.location.reload(), 0); }")
    expect(page.get_by_text("Load a dataset first")).to_be_visible(timeout=SLOW)  # a new session
    assert page.dialogs == [], "no warning once nothing is running"
