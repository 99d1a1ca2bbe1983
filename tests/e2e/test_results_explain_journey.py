"""Real-browser journey through pages 6 and 7: move the decision threshold, explain the network.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import base64
import json
import re
import time

import numpy as np
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    choose,
    full_page_screenshot,
    go_to,
    keep_only_models,
    open_settings,
    pick_view,
    screenshot_path,
    set_setting,
    start_on_models,
    wait_idle,
)

SCREENSHOT = screenshot_path("screenshot-explain.png")
KERAS = "Neural network (Keras)"
LOGISTIC = "Logistic regression"
ORIGINAL_COLUMNS = {
    "machine_type",
    "temperature_c",
    "vibration_mm_s",
    "current_a",
    "runtime_hours",
    "ambient_temp_c",
    "last_service_days",
}
EXPLAIN_ROWS = 30  # Permutation SHAP on a Keras model: keep it to a few rows

Z_DATA = "el => JSON.stringify(el.data && el.data[0] ? el.data[0].z : null)"
Y_LABELS = "el => (el.data && el.data[0] && el.data[0].y) ? Array.from(el.data[0].y).map(String) : []"
TICK_TEXT = (
    "el => (el.layout && el.layout.yaxis && el.layout.yaxis.ticktext) ? Array.from(el.layout.yaxis.ticktext) : []"
)


# --------------------------------------------------------------------------- helpers


def slider_value(page: Page, key: str) -> str:
    """The value shown on a slider's thumb."""
    return page.locator(f".st-key-{key} [data-testid='stSliderThumbValue']").inner_text().strip()


def press_on_slider(page: Page, key: str, *keys: str) -> None:
    """Focus a slider's thumb and press keys, as a keyboard user would."""
    thumb = page.locator(f".st-key-{key} input[type='range']")  # visually hidden, focusable
    expect(thumb).to_be_attached(timeout=SLOW)
    thumb.focus()
    for k in keys:
        page.keyboard.press(k)
    thumb.blur()
    page.wait_for_timeout(500)  # the slider sends its value shortly after the last key
    wait_idle(page)


def plotly(page: Page, key: str) -> Locator:
    return page.locator(f".st-key-{key} .js-plotly-plot").first


def read_chart(page: Page, key: str, script: str):
    """Evaluate ``script`` on a drawn chart, retrying while Streamlit redraws it."""
    deadline = time.monotonic() + SLOW / 1000
    while True:
        try:
            return plotly(page, key).evaluate(script)
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(200)


def z_counts(z_json: str) -> np.ndarray:
    """A heatmap's z from plotly's data: a nested list, or a typed array ``{dtype, bdata, shape}``."""
    z = json.loads(z_json)
    if isinstance(z, dict) and "bdata" in z:
        shape = [int(n) for n in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]).newbyteorder("<")).reshape(shape)
    return np.asarray(z)


# --------------------------------------------------------------------------- the journey


def test_threshold_moves_the_confusion_matrix_and_the_network_is_explained_in_my_columns(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "predictive_maintenance", "failure")

    # Models: exactly logistic regression and a quick network.
    keep_only_models(page, [LOGISTIC, KERAS])
    chosen = page.locator(".st-key-models_chosen")
    expect(chosen).to_contain_text(LOGISTIC)
    expect(chosen).to_contain_text(KERAS)
    set_setting(page, KERAS, "models_keras_mlp_epochs", 5)
    open_settings(page, KERAS)  # under load, the epochs' rerun can redraw the settings closed (seen in CI)
    early = page.locator(".st-key-models_keras_mlp_early_stopping")
    early.locator("label").click()
    expect(early.locator("input")).not_to_be_checked()
    wait_idle(page)
    assert_clean(page)
    train = page.locator(".st-key-models_train button")
    expect(train).to_have_text(re.compile(r"Train 2 models"))
    expect(train).to_be_enabled()
    train.click()

    # Train: wait for the end.
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    status = page.get_by_test_id("stProgress").first
    expect(status).to_contain_text(re.compile(r"^Finished (\d+) of \1 models"), timeout=90_000)
    assert_clean(page)

    # Results: the threshold view's confusion matrix follows the slider.
    go_to(page, "6. Results")
    expect(page.locator(".st-key-results_model")).to_be_visible(timeout=SLOW)
    pick_view(page, "results_view", "Threshold")
    expect(plotly(page, "results_threshold_confusion")).to_be_visible(timeout=SLOW)
    before = read_chart(page, "results_threshold_confusion", Z_DATA)
    assert before and before != "null", before
    assert slider_value(page, "results_threshold") == "0.50"
    press_on_slider(page, "results_threshold", *["ArrowRight"] * 5, "End")
    expect(page.locator(".st-key-results_threshold [data-testid='stSliderThumbValue']")).to_have_text("1.00")
    deadline = time.monotonic() + SLOW / 1000
    while (after := read_chart(page, "results_threshold_confusion", Z_DATA)) == before:
        assert time.monotonic() < deadline, f"the confusion matrix did not change: {before}"
        page.wait_for_timeout(200)
    counts_before, counts_after = z_counts(before), z_counts(after)
    assert not np.array_equal(counts_after, counts_before)
    assert counts_after.sum() == counts_before.sum() > 0, (counts_before, counts_after)  # the same rows, re-sorted
    assert counts_after[:, 1].sum() < counts_before[:, 1].sum(), (counts_before, counts_after)  # fewer alarms
    expect(
        page.get_by_text(re.compile(r"^At 1\.00, with .+ as the positive class: \d+ true positives"))
    ).to_be_visible()
    assert_clean(page)

    # The final test, once: the model's test numbers, labelled as such.
    model = page.locator(".st-key-results_model").get_by_role("combobox").input_value()
    page.locator(".st-key-results_test button").click()
    expect(page.get_by_text(f"Test numbers for {model}")).to_be_visible(timeout=SLOW)
    expect(
        page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"TEST split · [\d,]+ rows"))
    ).to_be_visible()
    expect(page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(r"\((validation|test)\)"))).to_have_count(0)
    wait_idle(page)
    assert_clean(page)

    # Explain: the network, on a few rows.
    go_to(page, "7. Explain")
    results_link = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").filter(has_text="6. Results")
    expect(results_link).to_contain_text("✓")  # scored on the test split: the step is done
    choose(page.locator(".st-key-explain_model [data-testid='stSelectbox']"), KERAS)
    wait_idle(page)
    press_on_slider(page, "explain_rows", "Home", *["ArrowRight"] * (EXPLAIN_ROWS - 1))
    expect(page.locator(".st-key-explain_rows [data-testid='stSliderThumbValue']")).to_have_text(
        str(EXPLAIN_ROWS), timeout=SLOW
    )
    expect(page.get_by_text(re.compile(rf"Method: .* · {EXPLAIN_ROWS} rows"))).to_be_visible(timeout=SLOW)
    page.locator(".st-key-explain_start button").click()
    expect(plotly(page, "explain_importance")).to_be_visible(timeout=90_000)
    wait_idle(page)
    labels = read_chart(page, "explain_importance", Y_LABELS)
    assert "vibration_mm_s" in labels, labels
    assert set(labels) == ORIGINAL_COLUMNS, labels  # every feature, and not the machine_id identifier
    assert not [label for label in labels if "__" in label], labels
    assert_clean(page)

    pick_view(page, "explain_view", "Beeswarm")
    expect(plotly(page, "explain_beeswarm")).to_be_visible(timeout=SLOW)
    ticks = read_chart(page, "explain_beeswarm", TICK_TEXT)
    assert "vibration_mm_s" in ticks and not [t for t in ticks if "__" in t], ticks
    assert_clean(page)
    full_page_screenshot(page, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 20_000

    pick_view(page, "explain_view", "One row")
    expect(plotly(page, "explain_waterfall")).to_be_visible(timeout=SLOW)
    steps = read_chart(page, "explain_waterfall", Y_LABELS)
    named = [s for s in steps if s.split(" = ")[0] in ORIGINAL_COLUMNS]
    assert named, steps
    assert not [s for s in steps if "__" in s], steps
    assert_clean(page)
