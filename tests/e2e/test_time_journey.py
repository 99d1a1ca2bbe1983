"""Real-browser journey: daily electricity demand per region, with features from earlier rows.

The temporal sample, target demand; on the Models page the rows are ordered by date, one sequence
per region, with lags and moving averages of the temperature (previewed on the first training rows);
LightGBM is trained and the time features show among what drove its predictions on the Explain page.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    choose,
    go_to,
    keep_only_models,
    start_on_models,
    train_and_wait,
    wait_idle,
)

LIGHTGBM = "LightGBM"


def test_order_by_date_per_region_and_see_the_time_features_drive_the_model(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "electricity_demand", "demand_mw")
    keep_only_models(page, [LIGHTGBM])
    choose(page.locator(".st-key-models_cv [data-testid='stSelectbox']"), "off")  # one fit, no folds: quicker
    wait_idle(page)

    # Time and sequences: shuffled rows would leak, so the section says so until it is switched on.
    expect(page.get_by_text("Features from earlier rows need the split ordered in time")).to_be_visible()
    page.locator(".st-key-models_time_on label").click()
    wait_idle(page)
    expect(page.locator(".st-key-models_time_order").get_by_role("combobox")).to_have_value("date", timeout=SLOW)
    choose(page.locator(".st-key-models_time_entity [data-testid='stSelectbox']"), "region")
    wait_idle(page)
    expect(page.get_by_text("each 'region' value's oldest rows train")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("The first 10 training rows of this entity, oldest first")).to_be_visible(timeout=SLOW)
    expect(page.locator(".st-key-models_time_preview_entity").get_by_role("combobox")).to_have_value("Coast")
    assert_clean(page)

    train_and_wait(page, "Train 1 model + baseline")
    go_to(page, "6. Results")
    leaderboard = page.get_by_test_id("stMain")
    expect(leaderboard).to_contain_text(LIGHTGBM, timeout=SLOW)
    assert_clean(page)

    go_to(page, "7. Explain")
    start = page.locator(".st-key-explain_start button")
    expect(start).to_be_visible(timeout=SLOW)  # once the explanation's time is estimated
    start.click()
    expect(page.locator(".st-key-explain_importance .js-plotly-plot").first).to_be_visible(timeout=90_000)
    page.locator(".st-key-explain_time_on label").click()
    wait_idle(page)
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("temperature_c mean of last 3", timeout=SLOW)
    expect(table).to_contain_text("temperature_c lag 1")
    expect(table).to_contain_text("date (day of week)")
    assert_clean(page)
