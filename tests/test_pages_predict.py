"""The Predict page through AppTest: the form, a whole file, bundles in and out."""

from __future__ import annotations

import json
import pickle

import pytest
from streamlit.testing.v1 import AppTest

from core import serving
from core.samples import load_sample
from tests.page_helpers import trained_app as journey_to
from ui import state


def trained_app(sample: str, models: list[str]) -> AppTest:
    return journey_to(sample, models, "pages/predict.py")


def form_boxes(at: AppTest) -> list:
    """The form's number inputs in schema order (the form lays them out in three columns)."""
    boxes = [n for n in at.number_input if n.key and n.key.startswith("predict_")]
    return sorted(boxes, key=lambda b: int(b.key.rsplit("_", 1)[1]))


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value if hasattr(e, "value") else e.body for e in getattr(at, kind)]


def test_without_a_model_the_page_says_how_to_get_one():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    assert any("No model yet" in i.body for i in at.info)
    assert at.file_uploader(key="predict_bundle")


@pytest.fixture(scope="module")
def iris() -> AppTest:
    return trained_app("iris", ["logistic_regression"])


def test_the_form_is_built_from_the_training_schema_and_predicts(iris):
    picker = iris.selectbox(key="predict_model")
    assert picker.options == ["Baseline (trained now)", "Logistic regression (trained now)"]
    assert picker.value == "Logistic regression (trained now)", "the best model on validation is offered first"
    boxes = form_boxes(iris)
    assert [b.label for b in boxes] == ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
    assert all("Training range" in b.help for b in boxes)
    boxes[2].set_value(6.5)
    boxes[3].set_value(2.3)
    iris.get("form_submit_button")[0].click().run()
    assert not iris.exception
    answer = next(m for m in iris.metric if m.label == "Predicted species")
    assert answer.value == "virginica"
    charts = [c.proto.id for c in iris.get("plotly_chart")]
    assert any("predict_probabilities" in c for c in charts) and any("predict_waterfall" in c for c in charts)
    waterfall = next(c for c in iris.get("plotly_chart") if "predict_waterfall" in c.proto.id)
    assert "of 'virginica'" in json.loads(waterfall.proto.spec)["layout"]["title"]["text"], (
        "the predicted class is explained"
    )


def test_a_missing_value_in_the_form_is_imputed_as_in_training(iris):
    boxes = form_boxes(iris)
    boxes[0].set_value(None)
    iris.get("form_submit_button")[0].click().run()
    assert not iris.exception
    assert any(m.label == "Predicted species" for m in iris.metric)


def test_a_whole_file_is_checked_scored_and_offered_as_a_safe_csv(iris):
    iris.segmented_control(key="predict_view").set_value("A whole file").run()
    rows = load_sample("iris").frame.drop(columns=["species"]).head(30)
    rows = rows.drop(columns=["petal_width_cm"]).assign(note="=HYPERLINK(1)")
    iris.file_uploader(key="predict_batch_file").set_value(("new.csv", rows.to_csv(index=False).encode(), "text/csv"))
    iris.run()
    assert not iris.exception
    warnings = " ".join(w.body for w in iris.warning).replace("\\", "")  # as rendered: no markdown escapes
    assert "'petal_width_cm'" in warnings and "'note'" in warnings
    assert any("30 rows scored" in m for m in texts(iris, "markdown"))
    preview = iris.dataframe[0].value
    assert list(preview.columns[:4]) == [
        "prediction",
        "probability of setosa",
        "probability of versicolor",
        "probability of virginica",
    ]
    assert iris.get("download_button")


def test_a_broken_file_gets_a_message_not_a_traceback(iris):
    iris.segmented_control(key="predict_view").set_value("A whole file").run()
    iris.file_uploader(key="predict_batch_file").set_value(("bad.csv", b"a,b\n1,2\n", "text/csv"))
    iris.run()
    assert not iris.exception
    assert any("None of the file's columns" in e.body for e in iris.error)


def test_export_offers_the_bundle_and_shows_the_model_card(iris):
    iris.segmented_control(key="predict_view").set_value("Export").run()
    assert not iris.exception
    assert iris.get("download_button")
    assert any("# Model card: Logistic regression" in c.value for c in iris.code), [c.value[:80] for c in iris.code]


def test_a_restored_bundle_is_offered_and_a_pickle_is_refused():
    from core.export import export_bundle
    from core.predict import usable_from_training

    at = trained_app("iris", ["decision_tree_clf"])
    job = at.session_state[state.JOB]
    tree = next(m for m in job.snapshot().results if m.key == "decision_tree_clf")
    bundle = export_bundle(usable_from_training(tree, job.request, "iris.csv"))
    fresh = AppTest.from_file("../app.py", default_timeout=60)
    fresh.run()
    fresh.switch_page("pages/predict.py").run()
    fresh.file_uploader(key="predict_bundle").set_value(("evil.zip", pickle.dumps({"x": 1}), "application/zip"))
    fresh.run()
    assert not fresh.exception
    assert any("not a zip file" in e.body for e in fresh.error)
    fresh.file_uploader(key="predict_bundle").set_value(("tree.zip", bundle, "application/zip"))
    fresh.run()
    assert not fresh.exception
    assert not fresh.error
    assert fresh.selectbox(key="predict_model").value == "Decision tree (bundle tree.zip)"
    fresh.get("form_submit_button")[0].click().run()
    assert any(m.label == "Predicted species" for m in fresh.metric)
    fresh.segmented_control(key="predict_view").set_value("Serve").run()
    assert not fresh.exception
    assert any("no recorded run" in c.body for c in fresh.caption), "a bundle has no run to serve from"
    assert not any("--model-uri" in c.value for c in fresh.code)
    assert "python -m core.serving decision-tree-bundle.zip --port 5001" in [c.value for c in fresh.code]


def test_code_view_shows_a_standalone_script_for_the_model(iris):
    iris.segmented_control(key="predict_view").set_value("Code").run()
    assert not iris.exception
    script = next(c.value for c in iris.code if "LogisticRegression(" in c.value)
    assert "from core" not in script and "import core" not in script
    assert "read_csv" in script and ("'iris.csv'" in script or '"iris.csv"' in script)
    labels = [b.proto.label for b in iris.get("download_button")]
    assert "Download the script (.py)" in labels and "Download as a notebook (.ipynb)" in labels
    compile(script, "train.py", "exec")


def test_serve_view_shows_the_tracked_and_the_bundle_commands(iris):
    iris.segmented_control(key="predict_view").set_value("Serve").run()
    assert not iris.exception
    report = iris.session_state[state.JOB].after_run().value
    run_id = report.model_runs["Logistic regression"]
    codes = [c.value for c in iris.code]
    assert serving.serve_command(serving.model_uri(run_id), tracking_uri=report.tracking_uri) in codes
    assert "python -m core.serving logistic-regression-bundle.zip --port 5001" in codes
    curl = next(c for c in codes if c.startswith("curl "))
    assert "http://127.0.0.1:5001/invocations" in curl and "sepal_length_cm" in curl
    said = " ".join(texts(iris, "markdown"))
    assert "virtual environment active" in said and "127.0.0.1" in said


def test_hostile_column_names_in_a_bundle_stay_literal_text():
    import numpy as np
    import pandas as pd

    from core.export import export_bundle
    from core.predict import usable_from_training
    from core.target import Task
    from core.training import ModelRun, train_one
    from tests.conftest import make_training_request
    from ui.text import md_label

    rng = np.random.default_rng(0)
    link = "[click me](http://evil.example)"
    frame = pd.DataFrame({link: rng.normal(size=120), "<b>x</b>": rng.normal(size=120)})
    frame["y"] = np.where(frame[link] > 0, "yes", "no")
    models = [ModelRun("logistic_regression", "LR")]
    request = make_training_request(frame, "y", Task.BINARY, models=models, features=[link, "<b>x</b>"], seed=0)
    bundle = export_bundle(usable_from_training(train_one(request, request.models[-1]), request, "evil.csv"))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/predict.py").run()
    at.file_uploader(key="predict_bundle").set_value(("evil.zip", bundle, "application/zip")).run()
    labels = [b.label for b in form_boxes(at)]
    assert (
        labels
        == [md_label(link), md_label("<b>x</b>")]
        == ["\\[click me\\](http\\://evil.example)", "\\<b\\>x\\</b\\>"]
    )
    assert not at.exception
