"""Real-browser journey: a model that does worse for one group of people is caught on the Results page.

The table is generated here: the label follows two inputs, but 40 % of group B's labels are flipped (2 % of
group A's), so no model can be as right for B as for A.

Run with ``pytest -m e2e`` (needs Debian's Chromium; see conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from playwright.sync_api import Page, expect

from tests.e2e.helpers import SLOW, assert_clean, choose, go_to, keep_only_models, train_and_wait, upload, wait_idle


def noisy_for_b(folder: Path, n: int = 1_500) -> Path:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(["A", "B"], n)
    flip = rng.random(n) < np.where(group == "B", 0.40, 0.02)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "group": group, "label": np.where((x1 + x2 > 0) ^ flip, "yes", "no")})
    path = folder / "people.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_gap_between_two_groups_is_shown_with_a_fix(page_app: Page, tmp_path: Path) -> None:
    page = page_app
    page.goto(page.base_url)
    upload(page, "data_upload", noisy_for_b(tmp_path))
    expect(page.get_by_role("heading", name="people.csv")).to_be_visible(timeout=SLOW)
    wait_idle(page)
    go_to(page, "2. Target")
    page.locator(".st-key-target_confirm button").click()
    expect(page.get_by_test_id("stAlert").filter(has_text="Saved:")).to_contain_text("label", timeout=SLOW)
    go_to(page, "3. Clean")
    go_to(page, "4. Models")
    keep_only_models(page, ["Logistic regression"])
    train_and_wait(page, "Train 1 model + baseline")
    go_to(page, "6. Results")

    choose(page.locator(".st-key-results_fairness_column"), "group")
    wait_idle(page)
    warning = page.get_by_test_id("stAlert").filter(has_text="Accuracy is")
    expect(warning).to_contain_text("for group 'B'", timeout=SLOW)
    expect(warning).to_contain_text("Collect more rows of group 'B'")
    expect(page.get_by_test_id("stPlotlyChart").filter(has_text="Scores by group")).to_have_count(1, timeout=SLOW)
    assert_clean(page)
