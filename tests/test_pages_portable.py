"""The Predict page's Portable view through AppTest: build, check, download, the card; a step with no ONNX form named."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.portable.check import onnx_feeds, run_onnx
from core.portable.result import PortableExport, Unavailable
from core.predict import check_batch, predict_frame, usable_from_training
from tests.page_helpers import trained_app
from ui import state


def portable_view(at: AppTest) -> AppTest:
    at.segmented_control(key="predict_view").set_value("Portable").run()
    assert not at.exception
    return at


def held(at: AppTest) -> list:
    return at.session_state[state.PORTABLE][1]


@pytest.fixture(scope="module")
def iris() -> AppTest:
    return portable_view(trained_app("iris", ["logistic_regression"], "pages/predict.py"))


def test_the_files_are_built_on_a_click_checked_and_offered(iris):
    assert [b.proto.label for b in iris.button if b.key == "predict_portable_build"] == [
        "Build and check the portable files"
    ]
    assert not iris.get("download_button"), "nothing is built before the person asks"
    iris.button(key="predict_portable_build").click().run()
    assert not iris.exception
    assert [b.proto.label for b in iris.get("download_button")] == ["Download the ONNX file (.onnx)"]
    caption = next(c.value for c in iris.caption if "Checked on" in c.value)
    assert "validation rows: largest difference" in caption
    assert any("TFLite is not offered" in w.body for w in iris.warning)
    snippet = next(c.value for c in iris.code if "onnxruntime" in c.value)
    assert "'sepal_length_cm': rows[['sepal_length_cm']].to_numpy(np.float64)" in snippet
    onnx_file, tflite = held(iris)
    assert isinstance(onnx_file, PortableExport) and isinstance(tflite, Unavailable)
    assert [i.name for i in onnx_file.inputs] == [
        "sepal_length_cm",
        "sepal_width_cm",
        "petal_length_cm",
        "petal_width_cm",
    ]


def test_the_offered_file_answers_as_the_page_predicts(iris):
    onnx_file = held(iris)[0]
    job = iris.session_state[state.JOB]
    X, _ = job.request.xy(job.request.split.valid)
    model = next(m for m in job.snapshot().results if m.key == "logistic_regression")
    usable = usable_from_training(model, job.request, "iris.csv")
    aligned, _ = check_batch(X, usable.schema)
    answers = run_onnx(onnx_file.data, onnx_feeds(aligned, onnx_file.inputs))
    expected = predict_frame(usable, aligned)
    assert list(answers["label"]) == list(expected["prediction"])
    assert np.abs(answers["probabilities"] - expected.iloc[:, 1:].to_numpy(float)).max() < 1e-4


def test_the_model_card_lists_the_formats_once_built(iris):
    iris.segmented_control(key="predict_view").set_value("Export").run()
    assert not iris.exception
    card = next(c.value for c in iris.code if c.value.startswith("# Model card"))
    assert "## Portable formats" in card and "| `petal_width_cm` | petal\\_width\\_cm | double [rows × 1] |" in card
    portable_view(iris)


def test_a_step_without_an_onnx_form_is_named_on_the_page():
    at = portable_view(trained_app("spam", ["logistic_regression"], "pages/predict.py"))
    at.button(key="predict_portable_build").click().run()
    assert not at.exception
    warning = next(w.body for w in at.warning if "ONNX is not offered" in w.body)
    assert "TF\\-IDF word weights of the column 'message'" in warning
    assert not at.get("download_button")
