"""Real-browser journeys through the guards: a leaked column is caught, and rows are never silently lost.

Both tables are generated here, not bundled: a loan table where 'recoveries' is only
recorded after a default, and a passenger table with a name column (ID-like, left out)
whose other values repeat across many rows.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    SLOW,
    assert_clean,
    download,
    go_to,
    keep_only_models,
    train_and_wait,
    upload,
    wait_idle,
)

LOGISTIC = "Logistic regression"


def loans(folder: Path, n: int = 1_300) -> Path:
    rng = np.random.default_rng(0)
    income = rng.normal(50_000, 12_000, n).round(-2)
    amount = rng.normal(10_000, 3_000, n).round(-1)
    default = ((amount / income) * 3 + rng.normal(0, 0.5, n) > 1.0).astype(int)
    frame = pd.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "income": income,
            "amount": amount,
            "purpose": rng.choice(["car", "home", "study", "travel"], n),
            "recoveries": np.where(default == 1, rng.gamma(2, 400, n).round(2), 0.0),
            "default": default,
        }
    )
    path = folder / "loans.csv"
    frame.to_csv(path, index=False)
    return path


def passengers(folder: Path, n: int = 1_300) -> tuple[Path, float]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "name": [f"Passenger number {i}" for i in range(n)],
            "age": rng.integers(1, 8, n) * 10,
            "pclass": rng.integers(1, 4, n),
            "sex": rng.choice(["female", "male"], n),
            "survived": rng.choice(["no", "yes"], n, p=[0.62, 0.38]),
        }
    )
    path = folder / "passengers.csv"
    frame.to_csv(path, index=False)
    return path, float((frame["survived"] == "yes").mean())


def open_file(page: Page, path: Path) -> None:
    page.goto(page.base_url)
    upload(page, "data_upload", path)
    expect(page.get_by_role("heading", name=path.name)).to_be_visible(timeout=SLOW)
    wait_idle(page)


def test_a_leaked_column_is_flagged_unticked_in_one_click_and_carried_into_the_report(
    page_app: Page, tmp_path: Path
) -> None:
    page = page_app
    open_file(page, loans(tmp_path))
    go_to(page, "2. Target")
    leak = page.get_by_test_id("stAlert").filter(has_text="Likely leak")
    expect(leak).to_have_count(1, timeout=SLOW)
    expect(leak).to_contain_text("recoveries")
    expect(leak).to_contain_text("recorded after the outcome")

    # Train with it anyway: the Train and Results pages and the report say the score is not to be trusted.
    page.locator(".st-key-target_confirm button").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved:")).to_contain_text("4 features", timeout=SLOW)
    go_to(page, "3. Clean")
    go_to(page, "4. Models")
    keep_only_models(page, [LOGISTIC])
    train_and_wait(page, "Train 1 model + baseline")
    expect(page.get_by_test_id("stAlert").filter(has_text="Likely leak")).not_to_have_count(0, timeout=SLOW)
    go_to(page, "6. Results")
    expect(page.get_by_test_id("stAlert").filter(has_text="Likely leak").first).to_be_visible(timeout=SLOW)
    report = download(page, page.get_by_role("button", name="Download the report (HTML)"), tmp_path)
    caveats = report.read_text(encoding="utf-8").split("<h2>Caveats</h2>", 1)[1]
    assert "&#x27;recoveries&#x27; (likely leak)" in caveats
    assert_clean(page)

    # One click on the Target page leaves it out, and the flag goes.
    go_to(page, "2. Target")
    page.get_by_role("button", name="Untick 'recoveries'").click()
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="Likely leak")).to_have_count(0, timeout=SLOW)
    # .first: while the rerun draws, the old "Saved:" can sit beside the new one for a moment (seen under load).
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved:").first).to_contain_text("3 features", timeout=SLOW)
    assert_clean(page)


def test_rows_that_repeat_the_chosen_features_are_all_kept_with_their_class_shares(
    page_app: Page, tmp_path: Path
) -> None:
    page = page_app
    path, survived_share = passengers(tmp_path)
    open_file(page, path)
    go_to(page, "2. Target")
    page.locator(".st-key-target_confirm button").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved:")).to_contain_text("3 features", timeout=SLOW)
    go_to(page, "3. Clean")
    rows = page.get_by_test_id("stMetric").filter(has_text="Rows").first  # "Rows with outliers" follows
    expect(rows).to_contain_text("1,300", timeout=SLOW)
    expect(page.get_by_test_id("stAlert").filter(has_text="They are kept")).to_have_count(1)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    go_to(page, "4. Models")
    chart = page.locator(".st-key-models_split_chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=SLOW)
    traces = chart.evaluate(  # _fullData: plotly.js has decoded the typed arrays there
        "el => el._fullData.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))"
    )
    counts: dict[str, dict[str, float]] = {}
    for trace in traces:
        for split, value in zip(trace["x"], trace["y"], strict=True):
            counts.setdefault(split, {})[trace["name"]] = float(value)
    assert sum(sum(c.values()) for c in counts.values()) == 1_300, counts
    for split, by_class in counts.items():
        share = by_class.get("yes", 0.0) / sum(by_class.values())
        assert abs(share - survived_share) < 0.02, (split, share, survived_share)
    assert_clean(page)
