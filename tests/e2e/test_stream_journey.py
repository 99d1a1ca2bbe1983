"""Real-browser journey: a file above the server's big-file limit is scored in chunks on the Predict page.

The server here is the test's own: its big-file limit is 5 KB (``NOCODE_BIG_FILE_MB``) so a small
file takes the chunked path, and its scored files go to a throw-away folder (``NOCODE_OUTPUT_DIR``).
Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_page, serve_app
from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    download,
    go_to,
    keep_only_models,
    pick_view,
    start_on_models,
    train_and_wait,
    upload,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
IRIS = REPO_ROOT / "sample_data" / "iris.csv"
LOGISTIC = "Logistic regression"


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A server that reads files whole only up to 5 KB; yields (base URL, its output folder)."""
    out = tmp_path_factory.mktemp("scored")
    with serve_app(env={"NOCODE_BIG_FILE_MB": "0.005", "NOCODE_OUTPUT_DIR": str(out)}) as server:
        yield server.url, out


def many_flowers(folder: Path, copies: int = 20) -> Path:
    """The iris rows without the target, ``copies`` times over (about 100 KB), one note a formula."""
    with IRIS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    path = folder / "many flowers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm", "note"])
        for copy in range(copies):
            for i, row in enumerate(rows):
                note = "=1+1" if i == 0 else f"flower {copy}-{i}"
                writer.writerow(
                    [row[c] for c in ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")]
                    + [note]
                )
    return path


def test_a_big_upload_is_scored_in_chunks_with_its_report(chromium_browser, small_limit_server, tmp_path) -> None:
    base_url, out = small_limit_server
    with open_page(chromium_browser, base_url) as page:
        start_on_models(page, "iris", "species")
        keep_only_models(page, [LOGISTIC])
        train_and_wait(page, "Train 1 model + baseline")
        go_to(page, "8. Predict")
        pick_view(page, "predict_view", "A whole file")
        upload(page, "predict_batch_file", many_flowers(tmp_path))
        expect(page.get_by_text("scored in chunks", exact=False).first).to_be_visible(timeout=SLOW)
        page.locator(".st-key-predict_stream_upload button").click()
        expect(page.get_by_text("3,000 rows scored", exact=False)).to_be_visible(timeout=SLOW)
        where = page.get_by_test_id("stCode").inner_text().strip()
        assert where.startswith(str(out)) and where.endswith("-many_flowers-scored.csv")
        saved = download(page, page.get_by_role("button", name="Download the scored file (CSV)"), tmp_path)
        with saved.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 3_000 and rows[0]["note"] == "'=1+1"
        assert {r["prediction"] for r in rows} == {"setosa", "versicolor", "virginica"}
        assert_clean(page)
