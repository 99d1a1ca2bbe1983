"""The Explain page through AppTest: budget, run, every view, what-if.

Training and explaining are costly, so each run is made once per module and kept as the
session it left (:func:`tests.conftest.session_of`); every test opens it in a fresh AppTest
(:func:`tests.conftest.opened`) and may click freely: no test sees another's clicks.
"""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import opened, session_of
from tests.explain_helpers import Hooked, pause_per_call
from tests.page_helpers import trained_app as journey_to
from ui import state

EXPLAIN = "pages/explain.py"


def trained_app(sample: str, models: list[str]) -> AppTest:
    return journey_to(sample, models, EXPLAIN)


def explained(at: AppTest) -> AppTest:
    at.slider(key="explain_rows").set_value(40).run()
    assert any(c.value.startswith("Method") for c in at.caption)
    at.button(key="explain_start").click().run()
    name = at.selectbox(key="explain_model").value
    job = at.session_state[state.EXPLAIN_JOBS][name][1]  # the job is kept per model
    assert job.wait(120)
    at.run()
    assert not at.exception
    return at


def chart_texts(at: AppTest) -> str:
    return " ".join(c.proto.spec for c in at.get("plotly_chart"))


def explanation(at: AppTest):
    name = at.selectbox(key="explain_model").value
    return at.session_state[state.EXPLAIN_JOBS][name][1].snapshot().results[0]


def first_chart(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def numbers(values) -> np.ndarray:
    """A chart's numbers, whether listed or packed by plotly (base64 with a dtype)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


def waterfall(at: AppTest) -> tuple[str, list[str], np.ndarray, list[str]]:
    """The one-row chart: its title, bar labels, values and kinds (the base value, each push, the total)."""
    spec = first_chart(at)
    (trace,) = spec["data"]
    assert trace["type"] == "waterfall"
    return spec["layout"]["title"]["text"], trace["y"], numbers(trace["x"]), trace["measure"]


def waterfall_x(at: AppTest) -> list[float]:
    return waterfall(at)[2].tolist()


@pytest.fixture(scope="module")
def maintenance_run() -> dict:
    """Predictive maintenance with a random forest, trained and 40 rows explained once: the session it left."""
    return session_of(explained(trained_app("predictive_maintenance", ["random_forest_clf"])))


@pytest.fixture
def maintenance(maintenance_run) -> AppTest:
    """That explanation in a fresh session, on the Explain page."""
    return opened(maintenance_run, EXPLAIN)


def test_importance_is_in_the_persons_columns_with_a_summary(maintenance):
    """Catches bars in transformed feature names or not of this explanation, and a summary naming the wrong column."""
    expl = explanation(maintenance)
    mean_push = np.abs(expl.values).mean(axis=0)
    share = mean_push / mean_push.sum()
    (trace,) = first_chart(maintenance)["data"]
    bars = dict(zip(trace["y"], numbers(trace["x"]), strict=True))
    assert bars == pytest.approx(dict(zip(expl.columns, mean_push, strict=True))), "each column's mean push"
    assert "vibration_mm_s" in bars and "machine_type" in bars and not any("__" in label for label in bars)
    top = int(np.argmax(mean_push))
    summary = f"depends most on `{expl.columns[top]}` ({share[top]:.0%} of the total effect)"
    assert any(summary in m.value for m in maintenance.markdown), summary


def test_the_beeswarm_shows_each_rows_push_for_each_column(maintenance):
    """Catches a beeswarm of other rows or missing points: one dot per explained row and column."""
    expl = explanation(maintenance)
    maintenance.segmented_control(key="explain_view").set_value("Beeswarm").run()
    assert not maintenance.exception
    dots = np.concatenate([numbers(trace["x"]) for trace in first_chart(maintenance)["data"]])
    assert len(dots) == 40 * len(expl.columns)
    np.testing.assert_allclose(np.sort(dots), np.sort(expl.values.ravel()))


def test_dependence_plots_the_strongest_column_against_its_pushes(maintenance):
    """Catches a dependence chart of another column, or of values and pushes that do not belong together."""
    expl = explanation(maintenance)
    maintenance.segmented_control(key="explain_view").set_value("Dependence").run()
    assert not maintenance.exception
    column = expl.columns[int(np.argmax(np.abs(expl.values).mean(axis=0)))]
    assert maintenance.selectbox(key="explain_dep_column").value == column, "the strongest column first"
    spec = first_chart(maintenance)
    assert spec["layout"]["xaxis"]["title"]["text"] == column
    rows = next(t for t in spec["data"] if t["name"] == "rows")
    shown = sorted(zip(numbers(rows["x"]), numbers(rows["y"]), strict=True))
    expected = sorted(zip(expl.data[column].astype(float), expl.values[:, expl.columns.index(column)], strict=True))
    np.testing.assert_allclose(shown, expected)


def test_one_row_starts_at_the_highest_output_and_adds_up_to_it(maintenance):
    """Catches a waterfall of another row, or pushes that do not add up from the base value to the prediction."""
    expl = explanation(maintenance)
    maintenance.segmented_control(key="explain_view").set_value("One row").run()
    assert not maintenance.exception
    title, bars, x, measure = waterfall(maintenance)
    highest = float(np.max(expl.predictions))
    row = int(title.split(":")[0].removeprefix("Row "))
    assert expl.predictions[list(expl.data.index).index(row)] == pytest.approx(highest), title
    assert measure == ["absolute", *["relative"] * len(expl.columns), "total"] and bars[-1] == "this row's prediction"
    assert x[0] == pytest.approx(expl.base_value) and x[-1] == pytest.approx(highest)
    assert x[:-1].sum() == pytest.approx(highest, abs=1e-6), "base value + pushes = the prediction"


def test_what_if_changes_the_prediction(maintenance):
    """Catches an Update that changes nothing, or a what-if prediction that is not the model's on the edited row."""
    maintenance.segmented_control(key="explain_view").set_value("What-if").run()
    before = waterfall_x(maintenance)[-1]
    maintenance.number_input(key="explain_whatif_vibration_mm_s").set_value(15.0)
    maintenance.number_input(key="explain_whatif_temperature_c").set_value(120.0)
    next(b for b in maintenance.button if b.label == "Update").click().run()
    assert not maintenance.exception
    row = explanation(maintenance).data.iloc[[0]].assign(vibration_mm_s=15.0, temperature_c=120.0)
    model = next(m for m in state_models(maintenance) if m.name == "Random forest")
    no, yes = model.pipeline.predict_proba(row)[0]
    after = waterfall_x(maintenance)[-1]
    assert after == pytest.approx(yes) and after != pytest.approx(before), "the edited row's own prediction"
    assert maintenance.metric[0].value == ("1" if yes >= 0.5 else "0")
    shares = [c.value.replace("\\", "") for c in maintenance.caption if "%" in c.value]
    assert shares == [f"0: {no:.1%} · 1: {yes:.1%}"], "the probabilities under the prediction"
    assert "vibration_mm_s = 15" in chart_texts(maintenance)


def test_importance_chart_uses_the_full_width(maintenance):
    maintenance.segmented_control(key="explain_view").set_value("Importance").run()
    assert maintenance.get("plotly_chart"), "the importance chart is drawn"
    assert not any(column.get("plotly_chart") for column in maintenance.columns), "not squeezed into a column"


def test_the_method_is_described_in_plain_words_with_details_on_demand(maintenance):
    maintenance.segmented_control(key="explain_view").set_value("Importance").run()
    captions = [c.value for c in maintenance.main.caption if c.value.startswith("Explained")]
    assert len(captions) == 1 and "40 rows" in captions[0] and "every tree" in captions[0]
    details = next(e for e in maintenance.expander if e.label.startswith("Technical details"))
    assert any("TreeSHAP" in c.value for c in details.caption)
    outside = " ".join(c.value for c in maintenance.main.caption if c not in details.caption)
    assert "TreeSHAP" not in captions[0] and "path\\-dependent" not in outside


def done_probe() -> None:
    """A page that only says whether step 7 is done (the sidebar is not visible to AppTest)."""
    import streamlit as st

    from ui import journey

    st.write(f"explain done: {journey.is_done('explain')}")


def test_explain_step_is_done_once_a_model_is_explained(maintenance_run):
    probe = AppTest.from_function(done_probe)
    probe.session_state[state.JOB] = maintenance_run[state.JOB]
    probe.session_state[state.EXPLAIN_JOBS] = {}
    probe.run()
    assert probe.markdown[0].value == "explain done: False"
    probe.session_state[state.EXPLAIN_JOBS] = maintenance_run[state.EXPLAIN_JOBS]
    probe.run()
    assert probe.markdown[0].value == "explain done: True"


@pytest.fixture(scope="module")
def maintenance_knn_run() -> dict:
    """A model explained by the model-agnostic method, whose base value depends on the background rows."""
    return session_of(explained(trained_app("predictive_maintenance", ["knn_clf"])))


def test_what_if_starts_from_the_same_row_prediction_and_contributions(maintenance_knn_run):
    at = opened(maintenance_knn_run, EXPLAIN)
    expl = explanation(at)
    at.segmented_control(key="explain_view").set_value("What-if").run()
    assert not at.exception
    x = waterfall_x(at)
    assert x[0] == pytest.approx(expl.base_value, rel=1e-9), "same background: same base value"
    assert x[-1] == pytest.approx(expl.predictions[0], abs=1e-9)
    np.testing.assert_allclose(sorted(x[1:-1]), sorted(expl.values[0]), atol=1e-9)
    model = next(m for m in state_models(at) if m.name == expl.model_name)
    proba = model.pipeline.predict_proba(expl.data.iloc[[0]])[0]
    (probabilities,) = [c.value for c in at.caption if "%" in c.value]
    assert f"{proba[1]:.1%}".replace(".", "\\.") in probabilities, "the prediction of the row as it is"


def state_models(at: AppTest) -> list:
    from core.training import TrainedModel

    return [r for r in at.session_state[state.JOB].snapshot().results if isinstance(r, TrainedModel)]


def value_input_probe() -> None:
    """The what-if inputs for one row with a missing number, category and date, and what they return."""
    import pandas as pd
    import streamlit as st

    from ui.explain_views import _value_input

    training = {
        "number": pd.Series([1.0, 2.0, None, 4.0]),
        "kind": pd.Series(["a", "b", "a", None], dtype="str"),
        "when": pd.to_datetime(pd.Series(["2024-01-01", "2024-02-01", None, "2024-03-01"])),
        "flag": pd.Series([True, False, True, True]),
    }
    row = {"number": float("nan"), "kind": None, "when": pd.NaT, "flag": True}
    answers = {c: _value_input(c, row[c], training[c]) for c in training}
    st.write(repr(answers))


def test_what_if_inputs_keep_missing_values_missing():
    at = AppTest.from_function(value_input_probe).run()
    assert not at.exception
    assert at.number_input(key="explain_whatif_number").value is None
    assert at.selectbox(key="explain_whatif_kind").value is None
    assert at.date_input(key="explain_whatif_when").value is None
    answers = at.markdown[0].value
    assert "'number': None" in answers and "'kind': None" in answers and "'when': None" in answers
    assert "'flag': True" in answers  # the training value itself, not the text "True"
    at.number_input(key="explain_whatif_number").set_value(3.0).run()
    assert "'number': 3.0" in at.markdown[0].value


def test_explain_is_refused_for_clustering_and_before_training():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/explain.py").run()
    assert any("Load a dataset first" in i.body for i in at.info)


def test_multiclass_lets_the_person_pick_the_class():
    at = explained(trained_app("iris", ["logistic_regression"]))
    from ui.explain_views import ALL_CLASSES

    def title() -> str:
        return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]

    picker = at.selectbox(key="explain_class")
    assert picker.options == [ALL_CLASSES, "setosa", "versicolor", "virginica"] and picker.value is None
    assert "all classes" in title()
    expl = explanation(at)
    position = int(np.flatnonzero(expl.predicted_index != 0)[0])  # a row the model does not call setosa
    predicted = expl.classes[expl.predicted_index[position]]
    at.segmented_control(key="explain_view").set_value("One row").run()
    at.radio(key="explain_row_order").set_value("by row number").run()
    at.number_input(key="explain_row_number").set_value(int(expl.data.index[position])).run()
    assert f"of '{predicted}'" in title(), "one row is explained for its predicted class"
    at.selectbox(key="explain_class").set_value(0).run()
    assert not at.exception
    assert "of 'setosa'" in title(), "or for the class the person picks"
    at.selectbox(key="explain_class").set_value(None).run()
    for view in ("Beeswarm", "Dependence", "What-if"):
        at.segmented_control(key="explain_view").set_value(view).run()
        assert not at.exception and at.get("plotly_chart"), view
    assert "of '" in title(), "the what-if row is explained for its predicted class"


def test_the_bar_says_the_time_left_and_cancel_keeps_the_rows_done():
    at = trained_app("predictive_maintenance", ["knn_clf"])
    name = at.selectbox(key="explain_model").value
    first = at.session_state["memo.explain_estimate"][1]
    assert first.timed and "Timed on" in " ".join(c.value for c in at.caption), "the estimate is measured"
    valid_rows = len(at.session_state[state.JOB].request.split.valid)
    assert at.slider(key="explain_rows").value == min(first.rows_in_budget, valid_rows), "what fits 10 s"
    at.slider(key="explain_rows").set_value(40).run()
    model = next(m for m in state_models(at) if m.name == name)
    step, final = model.pipeline.steps[-1]
    model.pipeline.steps[-1] = (step, Hooked(final, pause_per_call))  # slow on the worker too:
    at.session_state[state.JOB]._chosen = None  # the slowed copy is sent, not the one its run left on a worker
    at.button(key="explain_start").click().run()
    job = at.session_state[state.EXPLAIN_JOBS][name][1]
    deadline = time.monotonic() + 120
    while not any(getattr(e, "rows", 0) > 0 for e in job.snapshot().events):
        assert time.monotonic() < deadline and job.snapshot().status == "running"
        time.sleep(0.05)
    at.run()
    shown = [e.rows for e in job.snapshot().events if getattr(e, "rows", 0) > 0]
    (bar,) = at.progress
    assert any(f"{rows} of 40 rows" in bar.text for rows in shown), bar.text
    assert bar.text.endswith(" left") and "about" in bar.text
    at.button(key="explain_cancel").click().run()
    assert job.wait(60)
    at.run()
    assert not at.exception
    expl = explanation(at)
    assert expl.partial and 0 < expl.rows < 40
    assert at.warning[0].value.startswith(f"Explained {expl.rows} of 40 rows; cancelled.")
    assert at.get("plotly_chart"), "the charts of the rows done"
