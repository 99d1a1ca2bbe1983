"""core.portable: every exportable model family as one ONNX file (and Keras as TFLite) that answers as the app does."""

from __future__ import annotations

import runpy

import numpy as np
import pandas as pd
import pytest

from core.cleaning import CleaningPlan, MissingRule, OutlierRule
from core.export import export_bundle, load_bundle
from core.features import FeatureOptions
from core.model_card import card_markdown, with_portable
from core.portable.check import onnx_feeds, run_onnx
from core.portable.exports import (
    CARRIED_ROWS,
    SCHEMA_ROWS,
    check_rows,
    portable_exports,
    usage_snippet,
)
from core.portable.result import (
    ONNX,
    PROBABILITY_TOLERANCE,
    TFLITE,
    VALUE_TOLERANCE,
    PortableExport,
    Unavailable,
)
from core.portable.steps import category_codes
from core.portable.tflite import run_tflite
from core.predict import PREDICTION, check_batch, predict_frame, usable_from_training
from core.target import Task
from core.training import train_one
from tests.conftest import make_training_request

TARGETS = {Task.BINARY: "bought", Task.MULTICLASS: "grade", Task.REGRESSION: "price"}


def table(rows: int = 180, seed: int = 0) -> pd.DataFrame:
    """Numbers and categories with missing values (and a rare category), three targets."""
    rng = np.random.default_rng(seed)
    size = rng.normal(100, 30, rows).round(1)
    rooms = rng.integers(1, 6, rows).astype(float)
    colour = rng.choice(["red", "green", "blue", "teal"], rows, p=[0.4, 0.3, 0.28, 0.02]).astype(object)
    kind = rng.choice(["flat", "house"], rows)
    price = size * 3 + rooms * 20 + (colour == "red") * 40 + rng.normal(0, 10, rows)
    frame = pd.DataFrame({"size m2": size, "rooms": rooms, "colour": colour, "kind": kind})
    frame.loc[rng.random(rows) < 0.1, "rooms"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "colour"] = None
    frame["bought"] = np.where(size + 15 * (colour == "red") + rng.normal(0, 10, rows) > 105, "yes", "no")
    frame["grade"] = np.select([size < 85, size < 115], ["small", "medium"], "large")
    frame["price"] = price.round(1)
    return frame


def new_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows a file meets outside the app: an unseen category, every value missing, a zero denominator."""
    extra = pd.DataFrame(
        {"size m2": [95.0, np.nan, 120.0], "rooms": [0.0, np.nan, 3.0], "colour": ["purple", None, "teal"]}
    )
    extra["kind"] = ["flat", None, "house"]
    return pd.concat([frame, extra], ignore_index=True)


#: Models trained on the default table, by (task, key): tests that only read a model share it.
TRAINED: dict[tuple, tuple] = {}


def train(task: Task, key: str, params: dict | None = None, *, frame=None, **setup):
    """A model of ``key`` trained as the app trains it, and the rows to check it on (validation + odd rows).

    On the default table (no ``frame``, no other setup) a model is trained once per test run.
    """
    if frame is None and not setup:
        if (task, key) not in TRAINED:
            TRAINED[task, key] = train(task, key, params, frame=table())
        return TRAINED[task, key]
    frame = table() if frame is None else frame
    target = TARGETS.get(task)
    drop = [t for t in TARGETS.values() if t != target]
    request = make_training_request(
        frame.drop(columns=drop), target, task, models=[(key, params or {})], seed=3, **setup
    )
    run = request.models[-1]
    model = train_one(request, run)
    X, _ = request.xy(request.split.valid)
    return usable_from_training(model, request, "table.csv"), new_rows(X)


def assert_same_answers(usable, rows: pd.DataFrame, export: PortableExport) -> None:
    """Run the file with onnxruntime here (not through the module's own check) against the app's predictions."""
    aligned, _ = check_batch(rows, usable.schema)
    expected = predict_frame(usable, aligned)
    answers = run_onnx(export.data, onnx_feeds(aligned, export.inputs, export.fixes))
    if usable.task == Task.REGRESSION:
        value = answers["value"].ravel()
        mine = expected[PREDICTION].to_numpy(float)
        assert np.all(np.abs(value - mine) <= VALUE_TOLERANCE * np.maximum(np.abs(mine), 1.0))
        return
    assert [str(v) for v in answers["label"].ravel()] == [str(v) for v in expected[PREDICTION]]
    if usable.task.is_classification:
        probabilities = expected[[c for c in expected.columns if c.startswith("probability of ")]].to_numpy()
        assert np.abs(answers["probabilities"] - probabilities).max() <= PROBABILITY_TOLERANCE


def by_format(results: list) -> dict:
    return {r.format: r for r in results}


FAMILIES = [
    (Task.BINARY, "baseline", {}),
    (Task.BINARY, "logistic_regression", {}),
    (Task.BINARY, "decision_tree_clf", {}),
    (Task.BINARY, "random_forest_clf", {"n_estimators": 15}),
    (Task.BINARY, "hist_gradient_boosting_clf", {"max_iter": 15}),
    (Task.BINARY, "lightgbm_clf", {"n_estimators": 15}),
    (Task.BINARY, "svm_clf", {}),
    (Task.BINARY, "knn_clf", {}),
    (Task.BINARY, "naive_bayes", {}),
    (Task.BINARY, "keras_mlp", {"epochs": 2}),
    (Task.MULTICLASS, "logistic_regression", {}),
    (Task.MULTICLASS, "random_forest_clf", {"n_estimators": 15}),
    (Task.MULTICLASS, "hist_gradient_boosting_clf", {"max_iter": 10}),
    (Task.MULTICLASS, "lightgbm_clf", {"n_estimators": 10}),
    (Task.MULTICLASS, "svm_clf", {}),
    (Task.MULTICLASS, "knn_clf", {}),
    (Task.MULTICLASS, "naive_bayes", {}),
    (Task.MULTICLASS, "keras_mlp", {"epochs": 2}),
    (Task.REGRESSION, "baseline", {}),
    (Task.REGRESSION, "linear_regression", {}),
    (Task.REGRESSION, "ridge", {}),
    (Task.REGRESSION, "lasso", {}),
    (Task.REGRESSION, "decision_tree_reg", {}),
    (Task.REGRESSION, "random_forest_reg", {"n_estimators": 15}),
    (Task.REGRESSION, "hist_gradient_boosting_reg", {"max_iter": 15}),
    (Task.REGRESSION, "lightgbm_reg", {"n_estimators": 15}),
    (Task.REGRESSION, "svr", {}),
    (Task.REGRESSION, "knn_reg", {}),
    (Task.REGRESSION, "keras_mlp", {"epochs": 2}),
    (Task.CLUSTERING, "kmeans", {}),
]


@pytest.mark.parametrize(("task", "key", "params"), FAMILIES, ids=[f"{k}-{t.name.lower()}" for t, k, _ in FAMILIES])
def test_every_family_exports_an_onnx_file_that_answers_as_the_app(task, key, params):
    usable, rows = train(task, key, params)
    results = by_format(portable_exports(usable, rows))
    onnx_file = results[ONNX]
    assert isinstance(onnx_file, PortableExport), onnx_file
    assert onnx_file.rows_checked == len(rows) and onnx_file.file_name.endswith(".onnx")
    assert onnx_file.max_difference <= (VALUE_TOLERANCE if task == Task.REGRESSION else PROBABILITY_TOLERANCE)
    assert [(i.name, i.type) for i in onnx_file.inputs] == [
        ("size m2", "double"),
        ("rooms", "double"),
        ("colour", "string"),
        ("kind", "string"),
    ], "one input per column of the person's table, named as the column"
    assert_same_answers(usable, rows, onnx_file)
    tflite = results[TFLITE]
    if key != "keras_mlp":
        assert isinstance(tflite, Unavailable) and "neural network" in tflite.reason
        return
    assert isinstance(tflite, PortableExport), tflite
    features = usable.pipeline[:-1].transform(check_batch(rows, usable.schema)[0])
    answer = run_tflite(tflite.data, features)
    expected = predict_frame(usable, check_batch(rows, usable.schema)[0])
    if task == Task.REGRESSION:
        mine = expected[PREDICTION].to_numpy(float)
        assert np.all(np.abs(answer[:, 0] - mine) <= VALUE_TOLERANCE * np.maximum(np.abs(mine), 1.0))
    else:
        assert np.abs(answer - expected.iloc[:, 1:].to_numpy(float)).max() <= PROBABILITY_TOLERANCE
    assert len(tflite.features) == features.shape[1] == tflite.inputs[0].shape[1]


def test_the_category_tables_reproduce_the_fitted_branch():
    usable, rows = train(Task.BINARY, "logistic_regression")
    columns = usable.pipeline.named_steps["columns"]
    _, branch, listed = next(t for t in columns.transformers_ if t[0].startswith("categorical"))
    tables = category_codes(branch, list(listed))
    as_text = rows[listed].astype(object).where(rows[listed].notna(), "")  # unseen 'purple', missing, rare 'teal'
    expected = branch.transform(rows[listed])
    assert np.array_equal(
        tables.transform(as_text.to_numpy()), expected.toarray() if hasattr(expected, "toarray") else expected
    )


def test_integer_class_labels_come_back_as_integers():
    frame = table()
    frame["bought"] = (frame["bought"] == "yes").astype(int)
    for key in ("lightgbm_clf", "keras_mlp"):
        usable, rows = train(
            Task.BINARY, key, {"n_estimators": 10} if key == "lightgbm_clf" else {"epochs": 2}, frame=frame
        )
        exported = by_format(portable_exports(usable, rows))[ONNX]
        assert isinstance(exported, PortableExport), exported
        label = run_onnx(exported.data, onnx_feeds(check_batch(rows, usable.schema)[0], exported.inputs))["label"]
        assert label.dtype == np.int64 and set(label) <= {0, 1}


def test_clipping_ratios_type_fixes_and_a_log_target_travel_inside_the_file():
    frame = table()
    frame["floors"] = frame["rooms"].map(lambda v: None if pd.isna(v) else f"{int(v) % 3 + 1}")  # numbers as text
    frame["zone"] = np.arange(len(frame)) % 3 + 1  # numbers used as categories
    plan = CleaningPlan(
        outliers=OutlierRule("iqr", "clip", 1.0),
        type_fixes={"floors": "number", "zone": "category"},
        missing_by_column={"colour": MissingRule("constant", "none")},
    )
    options = FeatureOptions(ratios=(("size m2", "rooms"),), interactions=True, log_target=True)
    for key in ("ridge", "lightgbm_reg"):
        usable, rows = train(Task.REGRESSION, key, {"n_estimators": 10} if key == "lightgbm_reg" else {},
                             frame=frame, plan=plan, options=options)  # fmt: skip
        assert "log(1 + target)" in usable.card["model"].get("target_transform", "")
        exported = by_format(portable_exports(usable, rows))[ONNX]
        assert isinstance(exported, PortableExport), exported
        assert exported.fixes == {"floors": "number", "zone": "category"}
        assert dict((i.name, i.type) for i in exported.inputs)["zone"] == "string"
        assert "'floors' goes in to number" in exported.note
        assert_same_answers(usable, rows, exported)


def test_samplers_act_in_training_only_and_are_left_out_of_the_file():
    usable, rows = train(Task.BINARY, "random_forest_clf", {"n_estimators": 10}, imbalance="smote")
    exported = by_format(portable_exports(usable, rows))[ONNX]
    assert isinstance(exported, PortableExport) and "'resample' changes the training rows only" in exported.note
    assert_same_answers(usable, rows, exported)


def test_a_step_without_an_onnx_form_is_named_and_the_format_not_offered():
    frame = table()
    frame["listed"] = pd.date_range("2021-01-01", periods=len(frame), freq="D")
    usable, rows = train(Task.BINARY, "logistic_regression", frame=frame)
    results = by_format(portable_exports(usable, rows))
    assert results[ONNX] == Unavailable(
        ONNX, "dates", "the step 'dates' (calendar parts of the column 'listed') has no ONNX form"
    )

    words = ["quiet", "street", "near", "the", "park", "noisy", "café", "près", "du", "centre", "bright", "rooms"]
    rng = np.random.default_rng(1)
    frame = table()
    frame["description"] = [" ".join(rng.choice(words, 7)) + f" listing {i}" for i in range(len(frame))]
    usable, rows = train(Task.BINARY, "logistic_regression", frame=frame)
    text = by_format(portable_exports(usable, rows))[ONNX]
    assert isinstance(text, Unavailable) and text.step == "text" and "'description'" in text.reason


def test_a_model_that_splits_on_categories_itself_is_named():
    frame = table()
    frame["street"] = [f"street {i % 60}" for i in range(len(frame))]  # many levels: native categories
    usable, rows = train(Task.BINARY, "hist_gradient_boosting_clf", {"max_iter": 10}, frame=frame)
    result = by_format(portable_exports(usable, rows))[ONNX]
    assert isinstance(result, Unavailable) and result.step == "model" and "splits on categories" in result.reason


def test_a_file_that_fails_its_check_or_its_size_limit_is_not_offered(monkeypatch):
    usable, rows = train(Task.BINARY, "logistic_regression")
    monkeypatch.setattr("core.portable.check.PROBABILITY_TOLERANCE", -1.0)
    failed = by_format(portable_exports(usable, rows))[ONNX]
    assert isinstance(failed, Unavailable) and failed.step == "check"
    assert f"on {len(rows)} rows" in failed.reason and "differ from the app's" in failed.reason
    monkeypatch.undo()
    monkeypatch.setattr("core.portable.exports.MAX_FILE_BYTES", 1_000)
    big = by_format(portable_exports(usable, rows))[ONNX]
    assert isinstance(big, Unavailable) and "over the 0 MB" in big.reason


def test_a_bundle_is_checked_on_the_rows_it_carries_or_on_rows_from_its_schema():
    usable, _ = train(Task.MULTICLASS, "lightgbm_clf", {"n_estimators": 10})
    carried = load_bundle(export_bundle(usable, include_background=True))
    rows, label = check_rows(carried)
    assert label == CARRIED_ROWS and len(rows) == len(carried.background)
    bare = load_bundle(export_bundle(usable, include_background=False))
    rows, label = check_rows(bare)
    assert label == SCHEMA_ROWS and rows["colour"].isna().any() and set(rows["colour"].dropna()) >= {"red", "blue"}
    exported = by_format(portable_exports(bare, rows, rows_label=label))[ONNX]
    assert isinstance(exported, PortableExport) and exported.rows_label == SCHEMA_ROWS
    assert_same_answers(bare, rows, exported)


def test_the_model_card_lists_the_formats_their_inputs_and_what_was_not_offered():
    usable, rows = train(Task.BINARY, "keras_mlp", {"epochs": 2})
    results = portable_exports(usable, rows)
    card = with_portable(usable.card, [r.to_dict() for r in results])
    onnx_entry, tflite_entry = card["portable_formats"]
    assert onnx_entry["format"] == "ONNX" and "bytes" in onnx_entry and "data" not in onnx_entry
    assert [(i["name"], i["type"]) for i in onnx_entry["inputs"]][2] == ("colour", "string")
    assert tflite_entry["features"][0].startswith("numeric") and tflite_entry["inputs"][0]["type"] == "float"
    text = card_markdown(card)
    assert "## Portable formats" in text and "### ONNX: `keras-mlp.onnx`" in text
    assert "| `size m2` | size m2 | double [rows × 1] |" in text
    assert f"| `features` | \\(the preprocessed features\\) | float [rows × {len(tflite_entry['features'])}] |" in text
    assert "1. `numeric" in text, "the TFLite file's features are listed in order"
    unavailable = with_portable(
        usable.card, [Unavailable("ONNX", "dates", "the step 'dates' (x) has no ONNX form").to_dict()]
    )
    assert "- **ONNX** (dates): the step 'dates' \\(x\\) has no ONNX form" in card_markdown(unavailable)
    assert "portable_formats" not in with_portable(card, [])


def test_the_usage_snippet_scores_a_csv(tmp_path, monkeypatch):
    usable, rows = train(Task.MULTICLASS, "logistic_regression")
    exported = by_format(portable_exports(usable, rows))[ONNX]
    (tmp_path / exported.file_name).write_bytes(exported.data)
    rows.to_csv(tmp_path / "new_rows.csv", index=False)
    script = tmp_path / "score.py"
    script.write_text(usage_snippet(exported) + "RESULT = (label, probabilities)\n")
    monkeypatch.chdir(tmp_path)
    label, probabilities = runpy.run_path(str(script))["RESULT"]
    expected = predict_frame(usable, check_batch(rows, usable.schema)[0])
    assert list(label) == list(expected[PREDICTION])
    assert np.abs(probabilities - expected.iloc[:, 1:].to_numpy(float)).max() <= PROBABILITY_TOLERANCE


def test_the_text_and_sequence_networks_are_refused_in_plain_words():
    from core.portable.exports import TFLITE_NOT_FOR_WORDS_OR_WINDOWS
    from core.training import ModelRun
    from tests.test_sequence_network import LSTM, request_for
    from tests.test_text_model import FAST as TEXT_FAST
    from tests.test_text_model import messages

    frame = messages(60)
    frame.loc[::5, "message"] = ""  # empty texts are where the converter used to fail on ''
    text_request = make_training_request(frame, "label", models=[("keras_text", {**TEXT_FAST, "epochs": 1})], seed=3)
    text = usable_from_training(train_one(text_request, text_request.models[-1]), text_request, "messages.csv")
    sequence_request = request_for("y", Task.REGRESSION, [ModelRun("keras_lstm", "LSTM", {**LSTM, "epochs": 1})])
    sequence = usable_from_training(
        train_one(sequence_request, sequence_request.models[-1]), sequence_request, "sequences.csv"
    )
    for usable, request, step in ((text, text_request, "text"), (sequence, sequence_request, "sequence_keys")):
        X, _ = request.xy(request.split.valid)
        results = by_format(portable_exports(usable, X))
        assert results[TFLITE] == Unavailable(TFLITE, "model", TFLITE_NOT_FOR_WORDS_OR_WINDOWS)
        assert "words" in results[TFLITE].reason and "windows of rows" in results[TFLITE].reason
        onnx = results[ONNX]
        assert isinstance(onnx, Unavailable) and onnx.step == step, onnx
        assert f"the step '{step}' (" in onnx.reason and "has no ONNX form" in onnx.reason, onnx.reason
        for reason in (onnx.reason, results[TFLITE].reason):
            assert "could not convert" not in reason and "incompatible" not in reason
