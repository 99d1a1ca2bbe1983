"""Real-browser journey: a model trained on a bundled sample leaves the app as an ONNX file that answers as the page.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import onnxruntime as ort
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
IRIS = REPO_ROOT / "sample_data" / "iris.csv"
LOGISTIC = "Logistic regression"
SCREENSHOT = screenshot_path("screenshot-portable.png")
COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


def some_flowers(folder: Path) -> Path:
    """Thirty iris rows (every fifth of the file, so each species appears) without the target."""
    with IRIS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[::5]
    path = folder / "flowers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows([row[c] for c in COLUMNS] for row in rows)
    return path


def test_an_onnx_file_downloaded_from_the_page_scores_as_the_page_does(page_app: Page, tmp_path: Path) -> None:
    page = page_app
    start_on_models(page, "iris", "species")
    keep_only_models(page, [LOGISTIC])
    train_and_wait(page, "Train 1 model + baseline")

    # The page's own predictions for a file of flowers.
    go_to(page, "8. Predict")
    expect(page.locator(".st-key-predict_model").get_by_role("combobox")).to_have_value(f"{LOGISTIC} (trained now)")
    pick_view(page, "predict_view", "A whole file")
    flowers = some_flowers(tmp_path)
    upload(page, "predict_batch_file", flowers)
    scored_file = download(page, page.get_by_role("button", name="Download the scored file (CSV)"), tmp_path)
    scored = list(csv.DictReader(io.StringIO(scored_file.read_text(encoding="utf-8-sig"))))

    # Portable: build and check, then take the ONNX file away.
    pick_view(page, "predict_view", "Portable")
    page.get_by_role("button", name="Build and check the portable files").click()
    wait_idle(page)
    button = page.get_by_role("button", name="Download the ONNX file (.onnx)")
    expect(button).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("validation rows: largest difference")).to_be_visible()
    expect(page.get_by_test_id("stAlert").filter(has_text="TFLite is not offered")).to_have_count(1)
    assert_clean(page)
    full_page_screenshot(page, SCREENSHOT)
    model_file = download(page, button, tmp_path)
    assert model_file.suffix == ".onnx"

    # Scored outside the app, by onnxruntime: the same classes, the same probabilities.
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == COLUMNS
    feeds = {c: np.array([[float(row[c])] for row in scored], dtype=np.float64) for c in COLUMNS}
    label, probabilities = session.run(["label", "probabilities"], feeds)
    assert list(label) == [row["prediction"] for row in scored]
    classes = ["setosa", "versicolor", "virginica"]
    page_probabilities = np.array([[float(row[f"probability of {c}"]) for c in classes] for row in scored])
    assert np.abs(probabilities - page_probabilities).max() < 1e-4
