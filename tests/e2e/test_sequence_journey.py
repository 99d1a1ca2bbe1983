"""Real-browser journey: features from earlier rows plus an LSTM over the last days of each region's demand.

The temporal sample, target demand; on the Models page the sequence networks are listed as
unavailable until a time order is set; the Time section says why shuffled rows would leak until it
is switched on; once the rows are ordered by date, one sequence per region, with lags and moving
averages of the temperature previewed on one region's first training rows,
the LSTM is picked with a short window and few epochs, trained with its curves drawn live, ranked
on the leaderboard and explained on the Explain page with one bar per column.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    choose,
    go_to,
    keep_only_models,
    run_status,
    set_number,
    set_setting,
    start_on_models,
    wait_idle,
)

LSTM = "LSTM over the last rows (Keras)"


def test_order_by_date_train_an_lstm_watch_it_learn_and_explain_it(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "electricity_demand", "demand_mw")
    expect(page.get_by_text("set a time order in the Time section first")).to_be_visible(timeout=SLOW)
    choose(page.locator(".st-key-models_cv [data-testid='stSelectbox']"), "off")  # one fit, no folds
    wait_idle(page)

    # Time and sequences: shuffled rows would leak, so the section says so until it is switched on.
    expect(page.get_by_text("Features from earlier rows need the split ordered in time")).to_be_visible()
    page.locator(".st-key-models_time_on label").click()
    wait_idle(page)
    expect(page.locator(".st-key-models_time_order").get_by_role("combobox")).to_have_value("date", timeout=SLOW)
    choose(page.locator(".st-key-models_time_entity [data-testid='stSelectbox']"), "region")
    wait_idle(page)
    # each region cut in time, and the new columns previewed on one region's first training rows
    expect(page.get_by_text("each 'region' value's oldest rows train")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("The first 10 training rows of this entity, oldest first")).to_be_visible(timeout=SLOW)
    expect(page.locator(".st-key-models_time_preview_entity").get_by_role("combobox")).to_have_value("Coast")
    expect(page.get_by_text("set a time order in the Time section first")).to_have_count(0)
    keep_only_models(page, [LSTM])
    set_setting(page, LSTM, "models_keras_lstm_window", 5)
    set_number(page, "models_keras_lstm_epochs", 12)
    set_number(page, "models_keras_lstm_batch_size", 64)
    layers = page.locator(".st-key-models_keras_lstm_layers")
    expect(layers).to_be_visible(timeout=SLOW)
    # The layer table counts the LSTM's weights over 5 rows of the features (a grid drawn on a canvas:
    # its cells are read, not seen).
    expect(page.get_by_text(re.compile(r"^[\d,]+ parameters to learn from \d+ input features"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^the last 5 rows ×"))).to_have_count(1, timeout=SLOW)
    assert_clean(page)

    train = page.locator(".st-key-models_train button")
    expect(train).to_have_text(re.compile(r"Train 1 model \+ baseline$"), timeout=SLOW)
    train.click()
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    live = page.locator(".st-key-train_live_curves .js-plotly-plot")
    deadline = time.monotonic() + 90
    seen = False
    while not run_status(page).startswith(("Finished", "Stopped", "Failed")):
        seen = seen or live.count() > 0
        assert time.monotonic() < deadline, f"training did not finish; status: {run_status(page)!r}"
        page.wait_for_timeout(200)
    assert seen, "no live curve of the LSTM was drawn while it trained"
    assert run_status(page).startswith("Finished"), run_status(page)
    assert_clean(page)

    go_to(page, "6. Results")
    expect(page.get_by_test_id("stMain")).to_contain_text(LSTM, timeout=SLOW)
    assert_clean(page)

    go_to(page, "7. Explain")
    start = page.locator(".st-key-explain_start button")
    expect(start).to_be_visible(timeout=SLOW)
    start.click()
    bars = page.locator(".st-key-explain_importance .js-plotly-plot").first
    expect(bars).to_be_visible(timeout=90_000)
    expect(bars).to_contain_text("temperature_c", timeout=SLOW)
    # the method's line (under a folded section): explained on the network's windows
    expect(page.get_by_text(re.compile(r"^Permutation SHAP over the window on [\d,]+ rows"))).to_have_count(1)
    assert_clean(page)
