"""The guards on the pages where the mistakes are made (AppTest): leakage, lost rows, the metric.

Each test drives the app as a person would and checks what they would notice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from ui import state

APP = "../app.py"


def loans(n: int = 1_300, seed: int = 0) -> pd.DataFrame:
    """Loans with an ID, honest inputs and 'recoveries', recorded only after a default."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50_000, 12_000, n).round(-2)
    amount = rng.normal(10_000, 3_000, n).round(-1)
    default = ((amount / income) * 3 + rng.normal(0, 0.5, n) > 1.0).astype(int)
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(n)],
            "income": income,
            "amount": amount,
            "purpose": rng.choice(["car", "home", "study", "travel"], n),
            "recoveries": np.where(default == 1, rng.gamma(2, 400, n).round(2), 0.0),
            "default": default,
        }
    )


def passengers(n: int = 1_300, seed: int = 0) -> pd.DataFrame:
    """People with a unique name (ID-like, unticked) and coarse facts that repeat across many rows."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "name": [f"Passenger number {i}" for i in range(n)],
            "age": rng.integers(1, 8, n) * 10,
            "pclass": rng.integers(1, 4, n),
            "sex": rng.choice(["female", "male"], n),
            "survived": rng.choice(["no", "yes"], n, p=[0.62, 0.38]),
        }
    )


def uploaded(frame: pd.DataFrame, name: str = "table.csv") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").set_value((name, frame.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def bodies(elements) -> list[str]:
    return [e.body.replace("\\", "") for e in elements]


def test_target_page_flags_the_leaked_column_and_one_click_unticks_it():
    at = go(uploaded(loans()), "target")
    assert at.selectbox[0].value == "default"
    errors = bodies(at.error)
    assert len(errors) == 1 and "Likely leak: `recoveries`" in errors[0]
    assert "recorded after the outcome" in errors[0] and "Untick 'recoveries'" in errors[0]
    assert not at.warning, "the honest columns are not flagged"
    at.button(key="target_guard_untick_0").click().run()
    assert not at.exception and not at.error
    at.button(key="target_confirm").click().run()
    assert at.session_state[state.TARGET].features == ["income", "amount", "purpose"]


def test_untick_after_confirming_keeps_the_plan():
    at = go(uploaded(loans()), "target")
    at.button(key="target_confirm").click().run()
    go(at, "clean")
    plan = at.session_state[state.PLAN]
    go(at, "target")
    at.button(key="target_guard_untick_0").click().run()
    assert "recoveries" not in at.session_state[state.TARGET].features
    assert at.session_state[state.PLAN] is plan, "the cleaning plan is not lost"


def test_rows_that_only_repeat_the_chosen_features_are_kept_and_explained():
    at = go(uploaded(passengers()), "target")
    at.button(key="target_confirm").click().run()
    assert at.session_state[state.TARGET].features == ["age", "pclass", "sex"], "the name starts unticked"
    go(at, "clean")
    rows = next(m for m in at.metric if m.label == "Rows")
    assert rows.value == "1,300", "no row is dropped by default"
    assert not at.error
    assert any("They are kept" in i for i in bodies(at.info))


def test_a_step_that_drops_many_rows_is_red_and_must_be_confirmed_before_training():
    frame = passengers(400)
    frame.loc[:99, "survived"] = None
    at = go(uploaded(frame), "target")
    at.button(key="target_confirm").click().run()
    go(at, "clean")
    errors = bodies(at.error)
    assert any("drops 100 of 400 rows (25%)" in e for e in errors)
    confirm = next(c for c in at.checkbox if "_confirm_loss_" in c.key)
    assert confirm.value is False
    go(at, "models")
    assert any("Confirm that on the Clean page" in e for e in bodies(at.error))
    assert at.button(key="models_train").disabled
    go(at, "clean")
    next(c for c in at.checkbox if "_confirm_loss_" in c.key).check().run()
    assert at.session_state[state.PLAN].confirmed_row_loss == 100
    go(at, "models")
    assert not at.button(key="models_train").disabled
    # More rows dropped than confirmed: asked again (the tick for 100 rows does not cover 120).
    frame.loc[100:119, "survived"] = None
    go(at, "data")
    at.file_uploader(key="data_upload").set_value(("more.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    go(at, "target")
    at.button(key="target_confirm").click().run()
    go(at, "clean")
    assert next(c for c in at.checkbox if "_confirm_loss_" in c.key).value is False
    go(at, "models")
    assert at.button(key="models_train").disabled


def test_imbalanced_classes_rank_by_balanced_accuracy_with_class_weights_on():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.button(key="data_sample_predictive_maintenance").click().run()
    go(at, "target")
    at.button(key="target_confirm").click().run()
    go(at, "clean")
    go(at, "models")
    assert at.selectbox(key="models_metric").value == "balanced_accuracy"
    assert at.radio(key="models_imbalance").value == "class_weight"
    assert any("rarest class" in c.value and "balanced accuracy" in c.value for c in at.caption)
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.wait(120)
    assert job.request.metric == "balanced_accuracy" and job.request.imbalance == "class_weight"
    go(at, "train")
    board = at.dataframe[0].value
    # 4,250 training + validation rows: chosen by 5-fold cross-validation of the ranking metric, which comes first.
    assert list(board.columns[3:7]) == ["CV Balanced accuracy", "CV ±", "Balanced accuracy", "ROC-AUC"]
    assert "PR-AUC" in board.columns
    assert any("Ranked by Balanced accuracy" in c.value for c in at.caption)


def test_train_and_results_repeat_the_leak_and_do_not_call_the_model_trustworthy():
    at = go(uploaded(loans()), "target")
    at.button(key="target_confirm").click().run()
    go(at, "clean")
    go(at, "models")
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    job = at.session_state[state.JOB]
    assert job.wait(120)
    while job.checking:
        job.wait(1)
    go(at, "train")
    assert any("Likely leak: `recoveries`" in e for e in bodies(at.error))
    go(at, "results")
    assert any("Likely leak: `recoveries`" in e for e in bodies(at.error))
    assert not any("no sign of memorising" in c.value for c in at.caption)
