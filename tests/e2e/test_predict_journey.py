"""Real-browser journey through page 8: predict one row, score a file, export and reload a bundle.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    download,
    full_page_screenshot,
    go_to,
    keep_only_models,
    pick_view,
    screenshot_path,
    start_on_models,
    train_and_wait,
    upload,
    wait_idle,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = screenshot_path("screenshot-predict.png")
LOGISTIC = "Logistic regression"
IRIS = REPO_ROOT / "sample_data" / "iris.csv"


def new_flowers(folder: Path) -> Path:
    """Ten iris rows without the target, one column missing, one formula-looking extra column."""
    with IRIS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[95:105]
    path = folder / "new flowers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "note"])
        for i, row in enumerate(rows):
            note = '=HYPERLINK("http://example.com")' if i == 0 else f"flower {i}"
            writer.writerow([row["sepal_length_cm"], row["sepal_width_cm"], row["petal_length_cm"], note])
    return path


def test_predict_a_row_score_a_file_and_take_the_model_away(page_app: Page, tmp_path: Path) -> None:
    page = page_app
    start_on_models(page, "iris", "species")
    keep_only_models(page, [LOGISTIC])
    train_and_wait(page, "Train 1 model + baseline")

    # One row: the form starts from typical training values; a large flower is a virginica.
    go_to(page, "8. Predict")
    expect(page.locator(".st-key-predict_model").get_by_role("combobox")).to_have_value(f"{LOGISTIC} (trained now)")
    form = page.get_by_test_id("stForm")
    petal_length = form.get_by_role("spinbutton", name="petal_length_cm")
    expect(petal_length).to_be_visible(timeout=SLOW)
    petal_length.fill("6.1")
    form.get_by_role("spinbutton", name="petal_width_cm").fill("2.4")
    form.get_by_role("button", name="Predict").click()
    wait_idle(page)
    answer = page.get_by_test_id("stMetric").filter(has_text="Predicted species")
    expect(answer).to_contain_text("virginica", timeout=SLOW)
    expect(page.locator(".st-key-predict_waterfall .js-plotly-plot")).to_be_visible(timeout=SLOW)
    expect(page.locator(".st-key-predict_probabilities .js-plotly-plot")).to_be_visible()
    assert_clean(page)
    full_page_screenshot(page, SCREENSHOT)

    # A whole file: the report names what was missing and ignored; the download neutralises formulas.
    pick_view(page, "predict_view", "A whole file")
    upload(page, "predict_batch_file", new_flowers(tmp_path))
    expect(page.get_by_text("10 rows scored.")).to_be_visible(timeout=SLOW)
    alerts = page.get_by_test_id("stAlert")
    expect(alerts.filter(has_text="petal_width_cm")).to_have_count(1)
    expect(alerts.filter(has_text="'note'")).to_have_count(1)
    saved = download(page, page.get_by_role("button", name="Download the scored file (CSV)"), tmp_path)
    scored = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert len(scored) == 10 and {"prediction", "probability of virginica"} <= set(scored[0])
    assert scored[0]["note"].startswith("'="), scored[0]["note"]
    assert_clean(page)

    # Export: a bundle with its model card, which loads back on this page.
    pick_view(page, "predict_view", "Export")
    bundle = download(page, page.get_by_role("button", name="Download the model bundle (.zip)"), tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        card = json.loads(archive.read("model_card.json"))
        assert {"model_card.md", "pipeline.skops"} <= set(archive.namelist())
    assert card["target"] == "species" and card["model"]["name"] == LOGISTIC
    page.get_by_text("Load a model bundle exported earlier").click()
    upload(page, "predict_bundle", bundle)
    picker = page.locator(".st-key-predict_model").get_by_role("combobox")
    expect(picker).to_have_value(f"{LOGISTIC} (bundle {bundle.name})", timeout=SLOW)
    assert_clean(page)
