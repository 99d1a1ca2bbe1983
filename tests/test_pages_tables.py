"""Wide and odd tables through the pages (issue 9, "Hardened"): no crash, no hang, no widget or chart
that grows with the table.

Every run gets AppTest's timeout (60 s) as its bound: a page that takes minutes fails. Before these
changes the Models page offered 3,998,000 ratio pairs for 2,000 numeric columns (the browser ran out of
stack) and drew one legend entry per class for a 5,000-class target (minutes in the browser).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.limits import CHART_CATEGORIES, MAX_OPTIONS
from core.target import TargetChoice, Task
from ui import state

APP = "../app.py"


# --------------------------------------------------------------------------- tables


def wide_csv(rows: int = 60, columns: int = 2_000) -> bytes:
    """``columns`` numeric columns x0 … and a 0/1 'target' (last)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, columns)).round(3)
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(columns)])
    frame["target"] = (values[:, 0] > 0).astype(int)
    return frame.to_csv(index=False).encode()


def many_classes_csv(rows: int = 20_000, classes: int = 5_000) -> bytes:
    """Two numbers and a 'label' with ``classes`` classes of rows / classes rows each."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows).round(3),
            "b": rng.normal(size=rows).round(3),
            "label": [f"c{i % classes:04d}" for i in rng.permutation(rows)],
        }
    )
    return frame.to_csv(index=False).encode()


def blank_labels_csv(rows: int = 120) -> bytes:
    """A yes/no 'target' whose missing labels are written as one space (or a few)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows).round(3)
    label = np.where(x > 0, "yes", "no").astype(object)
    label[::10] = " "
    label[5::20] = "   "
    return pd.DataFrame({"x": x, "target": label}).to_csv(index=False).encode()


IMPOSSIBLE = ["2021-02-29", "2021-02-30", "2021-02-31", "2021-04-31", "2021-06-31"]
IMPOSSIBLE += ["2021-09-31", "2021-11-31", "2022-02-29", "2022-02-30", "2023-02-29"]


def near_miss_csv(rows: int = 100) -> bytes:
    """'signup': dates in three formats, 10 % impossible; 'price': numbers, 10 % 'unknown' or 'tbd'."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=rows - len(IMPOSSIBLE), freq="3D")
    written = [d.strftime(["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y"][i % 3]) for i, d in enumerate(days)]
    price = [f"{v:.2f}" for v in rng.uniform(10, 99, rows - 10)] + ["unknown"] * 6 + ["tbd"] * 4
    frame = pd.DataFrame(
        {
            "signup": rng.permutation(written + IMPOSSIBLE),
            "price": rng.permutation(price),
            "x": rng.normal(size=rows).round(3),
            "target": rng.choice(["yes", "no"], rows),
        }
    )
    return frame.to_csv(index=False).encode()


# --------------------------------------------------------------------------- helpers


def uploaded(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def alerts(at: AppTest) -> list[str]:
    return [e.body.replace("\\", "") for e in [*at.error, *at.warning, *at.info]]


def role_table(at: AppTest) -> pd.DataFrame:
    """The Data page's profile table with its role and "why this role" columns, by column name."""
    return next(e.value for e in at.data_editor if "distinct" in e.value.columns).set_index("column")


def feature_table(at: AppTest) -> pd.DataFrame:
    """The Target page's feature table (use, column, role, why), by column name."""
    return next(e.value for e in at.data_editor if "use" in e.value.columns).set_index("column")


def chart_traces(at: AppTest, key: str) -> list[dict]:
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert found, f"no chart {key!r}"
    return json.loads(found[0].proto.spec)["data"]


# --------------------------------------------------------------------------- tests


def test_two_thousand_numeric_columns_reach_the_models_page_with_a_bounded_ratio_picker():
    at = uploaded("wide.csv", wide_csv())
    assert metric(at, "Columns") == "2,001"
    version = at.session_state[state.VERSION]
    assert len(at.selectbox(key=f"data_detail_{version}").options) == MAX_OPTIONS, "column pickers are bounded too"
    go(at, "target")
    column = at.selectbox(key=f"target_column_{version}")
    assert column.value == "target" and len(column.options) == MAX_OPTIONS, "the suggested target stays listed"
    at.text_input(key=f"target_column_{version}_search").input("x1999").run()
    assert at.selectbox(key=f"target_column_{version}").options == [
        "target",
        "∅ no target: group similar rows or flag unusual ones",
        "x1999",
    ]
    at.button(key="target_confirm").click().run()
    assert not at.exception
    go(at, "clean")
    go(at, "models")

    ratios = at.multiselect(key="models_ratios")
    assert len(ratios.options) == MAX_OPTIONS, "3,998,000 pairs are never sent to the browser"
    assert any("3,998,000" in c.value and "more" in c.value for c in at.caption)
    assert at.checkbox(key="models_interactions_off").disabled, "2 million interaction terms are not offered"

    at.text_input(key="models_ratio_search").input("x1999").run()
    options = at.multiselect(key="models_ratios").options
    assert options and all("x1999" in o for o in options) and len(options) <= MAX_OPTIONS
    assert options[0] == "x1999 / x0", "pairs whose first column matches come first"
    at.multiselect(key="models_ratios").select("x1999 / x0").run()
    at.text_input(key="models_ratio_search").input("").run()
    assert not at.exception
    assert at.multiselect(key="models_ratios").value == ["x1999 / x0"], "a chosen pair stays when the search changes"
    assert at.session_state[state.TRAIN_SETUP].options.ratios == (("x1999", "x0"),)


def test_five_thousand_classes_are_refused_on_target_and_models_draws_a_bounded_split_chart():
    at = uploaded("classes.csv", many_classes_csv())
    go(at, "target")
    assert at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}").value == "label"
    refusal = [e.body.replace("\\", "") for e in at.error]
    assert any("5,000 classes" in e and "Group rare classes" in e for e in refusal), refusal
    assert at.button(key="target_confirm").disabled
    assert not at.get("plotly_chart") or len(chart_traces(at, "target_chart")[0]["x"]) <= CHART_CATEGORIES

    # However the person got there (an older session, a plan that dropped rows), Models refuses to train.
    at.session_state[state.TARGET] = TargetChoice("label", Task.MULTICLASS, "chosen by you", ["a", "b"])
    go(at, "clean")
    go(at, "models")
    assert any("5,000 classes" in e for e in (e.body.replace("\\", "") for e in at.error))
    assert at.button(key="models_train").disabled
    traces = chart_traces(at, "models_split_chart")
    assert len(traces) <= CHART_CATEGORIES, f"{len(traces)} legend entries"


def test_labels_written_as_spaces_are_missing_so_the_target_is_binary():
    at = uploaded("blanks.csv", blank_labels_csv())
    assert any("18 cells holding only spaces" in a and "'target'" in a for a in alerts(at)), alerts(at)
    go(at, "target")
    assert any("binary classification" in m.value for m in at.markdown)
    assert any("18 rows" in a and "no value in 'target'" in a for a in alerts(at))
    assert at.selectbox(key=f"target_positive_{at.session_state[state.VERSION]}_target").options == ["no", "yes"]


def test_near_miss_dates_and_numbers_say_why_on_data_and_target():
    at = uploaded("near.csv", near_miss_csv())
    roles = role_table(at)
    assert roles.loc["signup", "role"] == "ID-like"
    assert "dates in 90% of the values" in roles.loc["signup", "why"]
    assert sum(repr(day) in roles.loc["signup", "why"] for day in IMPOSSIBLE) == 3, "three examples"
    assert "numbers in 90% of the values" in roles.loc["price", "why"]
    assert "'unknown', 'tbd' are not numbers" in roles.loc["price", "why"]

    go(at, "target")
    why = feature_table(at)["why"]
    assert why["signup"].startswith("ID-like: dates in 90% of the values")
    assert "'unknown', 'tbd' are not numbers" in why["price"]


def test_missing_markers_named_on_the_data_page_make_a_number_column():
    at = uploaded("near.csv", near_miss_csv())
    at.text_input(key="data_reread_missing").input("unknown, tbd")
    at.button(key="data_reread_submit").click().run()
    assert not at.exception
    assert at.session_state[state.DATASET].frame["price"].dtype.kind == "f"
    assert role_table(at).loc["price", "role"] == "numeric"
    assert any("10 cells holding a missing-value marker" in a and "'unknown'" in a for a in alerts(at)), alerts(at)
