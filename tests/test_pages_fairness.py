"""The Results page's "Fairness across groups" through AppTest: pick a column, see the groups and the warning.

The table is uploaded as a person would; the run is trained once in this process (a finished job, as the
experiment log restores one) so the page tests stay fast. Its group column is not one of the model's inputs.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.fairness import TOO_SMALL
from core.metrics import format_score
from tests.conftest import opened, session_of
from tests.test_fairness import people
from ui import state

RESULTS = "pages/results.py"
LOGISTIC = "Logistic regression"


def trained_session(noise_b: float = 0.40) -> dict:
    """``people()`` uploaded on the Data page; 'label' predicted from x1 and x2 by logistic regression."""
    from core.cleaning import CleaningPlan
    from core.schema import effective_roles, infer_roles
    from core.split import SplitConfig
    from core.target import TargetChoice, Task
    from core.training import ModelRun, TrainingJob, TrainSetup, make_request, run_training

    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    csv = people(noise_b=noise_b).to_csv(index=False).encode()
    at.file_uploader(key="data_upload").set_value(("people.csv", csv, "text/csv")).run()
    assert not at.exception
    frame = at.session_state[state.DATASET].frame
    roles, plan, features = effective_roles(infer_roles(frame), {}), CleaningPlan(), ["x1", "x2"]
    setup = TrainSetup(SplitConfig(seed=0, cv_folds=0), [ModelRun("logistic_regression", LOGISTIC)])
    request = make_request(frame, "label", Task.BINARY, features, roles, plan, setup)
    at.session_state[state.TARGET] = TargetChoice("label", Task.BINARY, "two classes", features)
    at.session_state[state.PLAN] = plan
    at.session_state[state.JOB] = TrainingJob.restored(request, run_training(request))
    return session_of(at)


@pytest.fixture(scope="module")
def gap_run() -> dict:
    return trained_session()


@pytest.fixture
def results(gap_run) -> AppTest:
    at = opened(gap_run, RESULTS)
    at.selectbox(key="results_model").set_value(LOGISTIC).run()
    return at


def fairness_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Group" in d.value.columns)


def test_picking_a_group_column_shows_each_groups_scores_and_warns_of_the_gap(results):
    picker = results.selectbox(key="results_fairness_column")
    assert picker.value is None, "nothing is computed before a column is picked"
    assert "label" not in picker.options, "the target is not a group column"
    assert "group (not a feature)" in picker.options and "x1" in picker.options
    picker.set_value("group").run()
    assert not results.exception
    report = results.session_state[state.FAIRNESS][(LOGISTIC, "group")][1]
    table = fairness_table(results).set_index("Group")
    b = report.table.set_index("group").loc["B"]
    assert table.loc["B", "Accuracy"] == format_score("accuracy", b["accuracy"]), "scores as every page shows them"
    assert table.loc["B", "Rows"] == f"{b['rows']:,}" and table.loc["C", "Note"] == TOO_SMALL
    warnings = [w.body.replace("\\", "") for w in results.warning]
    assert any("Accuracy is" in w and "for group 'B'" in w and "Collect more rows of group 'B'" in w for w in warnings)
    spec = json.loads(next(c for c in results.get("plotly_chart") if "Scores by" in c.proto.spec).proto.spec)
    assert [t["name"] for t in spec["data"] if t["type"] == "bar"] == [
        "Accuracy",
        "Recall (positive class)",
        "Selection rate",
    ]
    assert any("includes the fairness across groups of 1 column" in c.value for c in results.caption), "in the report"


def test_the_test_rows_are_offered_only_once_the_model_was_scored_on_them(results):
    results.selectbox(key="results_fairness_column").set_value("group").run()
    assert not [w for w in results.get("button_group") if "fairness" in str(w.proto.id)]
    assert results.session_state[state.FAIRNESS][(LOGISTIC, "group")][1].split == "validation"
    results.button(key="results_test").click().run()  # the section above the button learns of it next time
    results.run()
    assert not results.exception
    rows = next(w for w in results.get("button_group") if "results_fairness_split" in str(w.proto.id))
    assert list(rows.options) == ["Validation rows", "Test rows"], "scored: the test rows may be compared too"
    rows.set_value("Test rows").run()
    report = results.session_state[state.FAIRNESS][(LOGISTIC, "group")][1]
    assert report.split == "test" and report.table["rows"].sum() == len(
        results.session_state[state.JOB].request.split.test
    )


def test_without_a_gap_there_is_no_warning():
    at = opened(trained_session(noise_b=0.02), RESULTS)
    at.selectbox(key="results_model").set_value(LOGISTIC).run()
    at.selectbox(key="results_fairness_column").set_value("group").run()
    assert not at.exception
    assert not [w for w in at.warning if "group" in w.body]
    assert any("No gap between the groups" in s.body.replace("\\", "") for s in at.success)


def test_a_new_run_forgets_the_reports_of_the_last_one(gap_run):
    from core.training import TrainingJob

    at = opened(gap_run, RESULTS)
    at.selectbox(key="results_model").set_value(LOGISTIC).run()
    at.selectbox(key="results_fairness_column").set_value("group").run()
    old = at.session_state[state.JOB]
    first = at.session_state[state.FAIRNESS][(LOGISTIC, "group")]
    new = TrainingJob.restored(old.request, old.snapshot().results)
    at.session_state[state.JOB] = new
    at.run()
    assert not at.exception
    held = at.session_state[state.FAIRNESS]
    assert [entry[0] for entry in held.values()] == [id(new)], "only the new run's reports are kept"
    assert held[(LOGISTIC, "group")][1] is not first[1], "computed again for the new run"


def test_the_model_card_on_the_predict_page_carries_the_scores_across_groups(results):
    results.selectbox(key="results_fairness_column").set_value("group").run()
    results.switch_page("pages/predict.py").run()
    results.segmented_control(key="predict_view").set_value("Export").run()
    assert not results.exception
    card = next(c.value for c in results.code if c.value.startswith("# Model card"))
    assert "## Fairness across groups" in card
    report = results.session_state[state.FAIRNESS][(LOGISTIC, "group")][1]
    b = report.table.set_index("group").loc["B"]
    assert format_score("accuracy", b["accuracy"]) in card, "the group's accuracy, as the Results page shows it"
