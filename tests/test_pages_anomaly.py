"""Anomaly detection through AppTest: the Target page's choice, the Models page's detectors, the Results
page's threshold slider and unusual rows, Predict and Explain with a detector.

One run (the maintenance sample, no target, isolation forest and local outlier factor) is trained once per
module and kept as the session it left (:func:`tests.conftest.session_of`); each test opens it afresh.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from core import anomaly
from core.target import Task
from tests.conftest import opened, session_of
from ui import state

COUNT = re.compile(r"([\d,]+) of ([\d,]+) validation rows above the threshold")


def _target_page() -> AppTest:
    """The maintenance sample loaded, no target picked and anomaly detection chosen on the Target page."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.button(key="data_sample_predictive_maintenance").click().run()
    at.switch_page("pages/target.py").run()
    column = at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}")
    column.set_value(next(o for o in column.options if o.startswith("∅"))).run()
    task = next(r for r in at.radio if r.key.startswith("target_task_"))
    assert task.options == ["clustering", "anomaly detection"] and task.value == "clustering"
    task.set_value("anomaly detection").run()
    assert not at.exception
    return at


@pytest.fixture(scope="module")
def anomaly_run() -> dict:
    at = _target_page()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["isolation_forest", "local_outlier_factor"]).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    at.switch_page("pages/train.py").run()
    assert not at.exception
    return session_of(at)


def _count(at: AppTest) -> tuple[int, int]:
    found = next(COUNT.search(m.value) for m in at.markdown if COUNT.search(m.value))
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def _titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_no_target_lets_the_person_choose_anomaly_detection_and_leaves_a_known_answer_out():
    at = _target_page()
    table = next(e.value for e in at.data_editor if "use" in e.value.columns).set_index("column")
    assert not table.loc["failure", "use"] and "known answer" in table.loc["failure", "why"]
    assert table.loc["temperature_c", "use"]
    at.button(key="target_confirm").click().run()
    choice = at.session_state[state.TARGET]
    assert choice.target is None and choice.task == Task.ANOMALY
    assert "failure" not in choice.features and "temperature_c" in choice.features
    assert any("anomaly detection on 7 features" in s.value for s in at.success)


def test_the_models_page_offers_the_detectors_without_a_baseline_or_a_ranking(anomaly_run):
    at = opened(anomaly_run, "pages/models.py")
    chosen = at.multiselect(key="models_chosen")
    assert chosen.options == ["Isolation forest", "Local outlier factor", "One-class SVM"]
    assert "models_metric" not in [s.key for s in at.selectbox], "no score to rank detectors by"
    assert at.button(key="models_train").label == "Train 2 models"


def test_the_train_page_says_why_the_first_detector_is_chosen(anomaly_run):
    at = opened(anomaly_run, "pages/train.py")
    assert any("Chosen: Isolation forest." in m.value for m in at.markdown)
    assert any("cannot tell which detector is right" in c.value for c in at.caption)


def test_the_leaderboard_reads_every_share_as_a_percentage_and_no_number_with_6_decimals(anomaly_run):
    at = opened(anomaly_run, "pages/train.py")
    config = json.loads(at.dataframe[0].proto.columns)  # how the table shows each column's numbers
    formats = {name: (c.get("type_config") or {}).get("format") for name, c in config.items()}
    for column in ("Flagged share", "train flagged share", "gap"):  # "train Flagged share" read 0.050125
        assert formats[column] == "percent", (column, formats)
    assert formats["seconds"] == "%.2f", formats  # not 6 decimals
    assert "Validation flagged share by model" in _titles(at)


def test_the_known_column_check_starts_at_the_rarer_value_and_lets_the_person_pick_the_other(anomaly_run):
    at = opened(anomaly_run, "pages/results.py")
    picker = at.selectbox(key="results_anomaly_known_value")
    assert picker.options == ["0", "1"] and picker.value == 1, "failures (1) are the rarer value"
    auc = float(next(m.value for m in at.metric if m.label == "ROC-AUC"))
    assert auc > 0.7 and not any("Below 0" in c.value for c in at.caption)
    picker.set_value(0).run()
    assert not at.exception
    flipped = float(next(m.value for m in at.metric if m.label == "ROC-AUC"))
    assert flipped == pytest.approx(1 - auc, abs=1e-3) and flipped < 0.5
    said = [c.value.replace("\\", "") for c in at.caption]  # (Markdown-escaped)
    assert any("the higher scores point at failure = 1, not at failure = 0" in c for c in said)


def test_the_threshold_slider_counts_the_rows_above_it_and_lists_the_most_unusual(anomaly_run):
    at = opened(anomaly_run, "pages/results.py")
    slider = next(s for s in at.slider if s.key.startswith("results_anomaly_at_"))
    model = next(m for m in at.session_state[state.JOB].snapshot().results if m.name == "Isolation forest")
    assert slider.value == pytest.approx(anomaly.threshold(model.pipeline))
    flagged, total = _count(at)
    assert total == 750 and abs(flagged - 0.05 * total) < 0.05 * total, "about the expected 5% of new rows"
    assert any(t.startswith("Anomaly scores of Isolation forest") for t in _titles(at))
    assert any(re.match(r"Row \d+: anomaly score", t) for t in _titles(at)), "the first unusual row, explained"
    table = at.dataframe(key="results_anomaly_rows")  # (a selectable table: found by its key)
    assert table is not None
    assert at.selectbox(key="results_anomaly_known").value == "failure", "the known answer left out is offered"
    assert "ROC-AUC" in [m.label for m in at.metric]

    slider.set_value(slider.min + (slider.value - slider.min) / 2).run()
    assert not at.exception
    more, _ = _count(at)
    assert more > flagged
    shown = [m.value for m in at.markdown if COUNT.search(m.value)]
    assert len(shown) == 1


def test_predict_scores_a_row_and_says_whether_it_is_unusual(anomaly_run):
    at = opened(anomaly_run, "pages/predict.py")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert "Anomaly score" in shown and shown["Unusual"] in ("yes", "no")
    assert any(t.startswith("This row: anomaly score") for t in _titles(at))


def test_explain_shows_what_moves_the_anomaly_score_and_skips_the_cross_check_it_cannot_make(anomaly_run):
    at = opened(anomaly_run, "pages/explain.py")
    at.slider(key="explain_rows").set_value(20).run()
    at.button(key="explain_start").click().run()
    job = at.session_state[state.EXPLAIN_JOBS]["Isolation forest"][1]
    assert job.wait(120)
    at.run()
    assert not at.exception
    result = job.snapshot().results[0]
    assert result.output_name == "anomaly score" and result.rows == 20
    assert any("The anomaly score depends most on" in m.value for m in at.markdown)
    assert "explain_perm_on" not in [t.key for t in at.toggle], "permutation importance needs right answers"
    assert any("anomaly detection has no right answers" in c.value for c in at.caption)
