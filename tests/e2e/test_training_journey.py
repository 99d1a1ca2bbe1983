"""Real-browser journey through pages 4 and 5: choose models, train, watch the network learn.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import contextlib
import re
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import (
    SLOW,
    full_page_screenshot,
    run_status,
    screenshot_path,
    set_number,
    set_setting,
    start_on_models,
    wait_idle,
)

SCREENSHOT = screenshot_path("screenshot-train.png")
KERAS = "Neural network (Keras)"
RECOMMENDED = ["Baseline", "Logistic regression", "Random forest", "LightGBM", "Support vector machine", KERAS]
# iris has 4 features and 3 classes: 4·16+16 + 16·8+8 + 8·3+3 (the dropout layer learns nothing)
SMALL_NET_PARAMETERS = "243"

# Number of points of the first trace of a plotly chart, or -1 while it is not drawn yet.
POINTS = "el => (el.data && el.data[0] && el.data[0].x) ? el.data[0].x.length : -1"
Y_LABELS = "el => (el.data && el.data[0] && el.data[0].y) ? Array.from(el.data[0].y) : []"


# --------------------------------------------------------------------------- helpers


def edit_units(page: Page, editor: Locator, row: int, units: int) -> None:
    """Type a new unit count into one row of the layer editor (a canvas grid).

    Rows are 35 px high under a 35 px header; the 'units' column is the third,
    reached from the first column with the arrow keys, and Enter opens the cell.
    """
    editor.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # let the scroll settle before clicking by position
    editor.click(position={"x": 60, "y": 35 + 35 * row + 17})
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    overlay = page.locator("#portal").locator("input, textarea").first  # the cell editor
    try:
        expect(overlay).to_be_visible(timeout=5_000)
    except AssertionError:
        page.keyboard.press("Escape")
        return
    overlay.fill(str(units))
    page.keyboard.press("Enter")
    wait_idle(page)
    page.wait_for_timeout(1000)  # an edit the app drops is reverted on the next redraw


def set_units(page: Page, editor: Locator, units: dict[int, int]) -> None:
    """Edit rows until the grid keeps every value.

    Retries because the app loses every other consecutive edit of this grid (it feeds the edited
    layers back in as the editor's data, which gives the editor a new identity): a person sees
    the value jump back and types it again.
    """

    def shown(row: int) -> str | None:
        return editor.locator(f"[id='glide-cell-3-{row}']").text_content()  # the grid's accessible mirror

    for _ in range(4):
        pending = {row: n for row, n in units.items() if shown(row) != str(n)}
        if not pending:
            return
        for row, n in pending.items():
            edit_units(page, editor, row, n)
    raise AssertionError(f"the layer editor did not keep {units}: shows {[shown(r) for r in units]}")


def chart_points(page: Page, key: str) -> int:
    chart = page.locator(f".st-key-{key} .js-plotly-plot")
    try:
        return chart.first.evaluate(POINTS) if chart.count() else -1
    except PlaywrightError:  # redrawn by the 1 s refresh between count() and evaluate()
        return -1


# --------------------------------------------------------------------------- the journey


def test_choose_models_train_and_watch_the_network_learn(page_app: Page) -> None:
    page = page_app
    start_on_models(page, "iris", "species")  # Data → Target → Clean, as a person would click through them

    # Models: the recommended set, with fast trees and a small, quick network.
    expect(page.locator(".st-key-models_split_chart .js-plotly-plot")).to_be_visible(timeout=SLOW)
    page.get_by_role("button", name="Recommended set").click()
    wait_idle(page)
    chosen = page.locator(".st-key-models_chosen")
    for label in RECOMMENDED:
        expect(chosen).to_contain_text(label)
    for label, key in (("Random forest", "random_forest_clf"), ("LightGBM", "lightgbm_clf")):
        set_setting(page, label, f"models_{key}_n_estimators", 30)
    set_setting(page, KERAS, "models_keras_mlp_epochs", 80)
    set_number(page, "models_keras_mlp_batch_size", 16)
    early = page.locator(".st-key-models_keras_mlp_early_stopping")
    early.locator("label").click()
    expect(early.locator("input")).not_to_be_checked()
    wait_idle(page)
    editor = page.locator(".st-key-models_keras_mlp_layers")
    set_units(page, editor, {0: 16, 2: 8})
    expect(page.get_by_text(re.compile(rf"^{SMALL_NET_PARAMETERS} parameters to learn"))).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    train = page.locator(".st-key-models_train button")
    expect(train).to_have_text(re.compile(rf"Train {len(RECOMMENDED)} models$"))
    expect(train).to_be_enabled()
    train.click()

    # Train: the page refreshes every second; the network's curve grows epoch by epoch.
    expect(page.get_by_role("heading", name="5. Train")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stProgress").first).to_contain_text(f"of {len(RECOMMENDED)} models", timeout=SLOW)
    deadline = time.monotonic() + 90
    while (first := chart_points(page, "train_live_curves")) < 1:
        assert time.monotonic() < deadline, f"no live curve of the network; status: {run_status(page)!r}"
        assert not run_status(page).startswith(("Finished", "Stopped", "Failed")), run_status(page)
        page.wait_for_timeout(200)
    seen = first
    while (seen := max(seen, chart_points(page, "train_live_curves"))) <= first:
        assert time.monotonic() < deadline, f"the live curve stayed at {first} points; status: {run_status(page)!r}"
        page.wait_for_timeout(200)
    assert seen > first >= 1
    expect(page.get_by_text(re.compile(rf"^{re.escape(KERAS)}: epoch \d+$"))).to_be_visible()
    if run_status(page).startswith("Training"):
        full_page_screenshot(page, SCREENSHOT)
        assert SCREENSHOT.stat().st_size > 20_000

    # Stop rather than wait for all 80 epochs: inside the app the network trains far slower than
    # outside it (every 1 s redraw of this page ends with Streamlit's full gc and
    # keras.backend.clear_session(), which starve the training thread). If it finished first,
    # there is nothing left to stop.
    stop = page.locator(".st-key-train_stop").get_by_role("button", name="Stop")
    with contextlib.suppress(PlaywrightError):
        stop.click(timeout=5_000)
    status = page.get_by_test_id("stProgress").first
    expect(status).to_contain_text(
        re.compile(rf"^(Finished|Stopped) {len(RECOMMENDED)} of {len(RECOMMENDED)} models"), timeout=60_000
    )
    expect(page.locator(".st-key-train_stop")).to_have_count(0)

    # The leaderboard (a canvas grid) and its bar chart: every model, the baseline too.
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=SLOW)
    board = page.locator(".st-key-train_leaderboard_chart .js-plotly-plot")
    expect(board).to_be_visible(timeout=SLOW)
    labels = board.evaluate(Y_LABELS)
    assert set(labels) == set(RECOMMENDED), labels
    expect(page.locator(".st-key-train_final_curves .js-plotly-plot")).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("link", name=re.compile("Change the models"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.dialogs == []
