"""The Keras text network (core.keras_text): fits every task, learns its vocabulary from training rows only,
repeats with its seed, reports epochs, survives a bundle, and is planned, offered and explained like any model.

Fits use a few dozen short texts and two or three epochs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.errors import DashboardError
from core.events import EpochEnded
from core.keras_text import EMPTY_WORD, KerasTextNetwork, text_layer_table
from core.registry import get_spec
from core.schema import Role
from core.target import Task
from tests.conftest import make_training_request

ROOT = Path(__file__).resolve().parents[1]
BINARY, MULTICLASS, REGRESSION = "binary classification", "multiclass classification", "regression"
SPAM_WORDS, HAM_WORDS = ["prize", "winner", "cash", "offer"], ["meeting", "lunch", "report", "tomorrow"]
COMMON = ["the", "you", "please", "today", "call", "about", "this", "week"]
FAST = {"epochs": 3, "vocabulary_size": 200, "sequence_length": 12, "embedding_dim": 8, "dense_units": 8}


def messages(n: int = 90, seed: int = 0) -> pd.DataFrame:
    """Short messages: a third are spam and hold two spam words, the rest two ham words; a links count beside."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        spam = i % 3 == 0
        words = [*rng.choice(SPAM_WORDS if spam else HAM_WORDS, 2), *rng.choice(COMMON, 4)]
        rng.shuffle(words)
        rows.append((" ".join(words).capitalize() + "!", int(rng.integers(0, 4)), "spam" if spam else "ham"))
    return pd.DataFrame(rows, columns=["message", "links", "label"])


def texts(frame: pd.DataFrame, with_links: bool = True) -> np.ndarray:
    """The table as the pipeline hands it to the network: the text first, then numbers."""
    columns = ["message", "links"] if with_links else ["message"]
    return frame[columns].to_numpy(dtype=object)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return messages()


@pytest.fixture(scope="module")
def binary_fit(table):
    events = []
    X, y = texts(table), table["label"].to_numpy()
    net = KerasTextNetwork(seed=3, **FAST).fit(
        X[:60], y[:60], validation_data=(X[60:], y[60:]), listener=events.append, model_name="Text A"
    )
    return net, events


# -- no Keras at import -----------------------------------------------------------------------------


def test_importing_the_module_and_its_layer_table_loads_neither_tensorflow_nor_keras():
    code = (
        "import sys, json, core.keras_text as k;"
        "k.text_layer_table(k.KerasTextNetwork().get_params(), 'regression');"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# -- every task ---------------------------------------------------------------------------------------


def test_a_binary_text_network_learns_which_words_mean_spam(binary_fit, table):
    net, _ = binary_fit
    X = texts(table)
    assert list(net.classes_) == ["ham", "spam"] and net.other_features_ == 1
    proba = net.predict_proba(X[60:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(net.predict(X[60:])) <= {"ham", "spam"}
    fresh = np.array([["Winner winner cash prize", 1], ["Lunch meeting report tomorrow", 1]], dtype=object)
    spam_share = net.predict_proba(fresh)[:, 1]
    assert spam_share[0] > spam_share[1], "spam words push towards spam after a few epochs"


@pytest.mark.parametrize("pooling", ["average", "convolution"])
def test_multiclass_and_regression_fit_with_either_pooling(table, pooling):
    rng = np.random.default_rng(1)
    topics = np.array(["work", "food", "money"])
    words = {"work": "report meeting deadline", "food": "lunch pizza dinner", "money": "cash prize bank"}
    y = topics[rng.integers(0, 3, 45)]
    X = np.array([[f"{words[t]} {' '.join(rng.choice(COMMON, 3))}"] for t in y], dtype=object)
    net = KerasTextNetwork(task=MULTICLASS, pooling=pooling, **FAST).fit(X, y)
    proba = net.predict_proba(X)
    assert proba.shape == (45, 3) and list(net.classes_) == sorted(topics)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)

    target = np.array([3.0 * text[0].count("cash") + 10.0 for text in X])
    regression = KerasTextNetwork(task=REGRESSION, pooling=pooling, **FAST).fit(X, target)
    predicted = regression.predict(X)
    assert predicted.shape == (45,) and np.isfinite(predicted).all()
    assert abs(float(predicted.mean()) - float(target.mean())) < 3 * float(target.std()) + 1, "in the target's units"
    assert "mae" in regression.history_


# -- the vocabulary -------------------------------------------------------------------------------------


def test_the_vocabulary_comes_from_the_training_rows_only(table):
    X, y = texts(table), table["label"].to_numpy()
    X_valid = X[60:].copy()
    X_valid[0, 0] = "zebracorn zebracorn " + X_valid[0, 0]  # a word only a validation row has
    net = KerasTextNetwork(**FAST).fit(X[:60], y[:60], validation_data=(X_valid, y[60:]))
    assert net.vocabulary_[:3] == ["", "[UNK]", EMPTY_WORD]
    assert "zebracorn" not in net.vocabulary_ and "prize" in net.vocabulary_
    ids = net.word_ids(np.array(["zebracorn prize"], dtype=object))[0]
    assert ids[0] == 1 and ids[1] == net.vocabulary_.index("prize") and ids[2] == 0  # unknown, known, padding
    assert set(net.vocabulary_[3:]) <= {w.lower() for text in X[:60, 0] for w in text.replace("!", "").split()}
    no_words = net.word_ids(np.array(["", "!!! ?"], dtype=object))
    assert (no_words[:, 0] == 2).all() and not no_words[:, 1:].any(), "a text without words reads as its own word"


@pytest.mark.parametrize("pooling", ["average", "convolution"])
def test_empty_and_missing_texts_do_not_stop_the_network_learning_from_the_others(pooling):
    rng = np.random.default_rng(4)
    n = 160
    y = np.where(rng.random(n) < 0.5, "spam", "ham")
    rows = []
    for i, label in enumerate(y):
        if i % 2:  # half the rows have no words: empty, missing (None or NaN), or spaces
            rows.append(["", None, np.nan, "   "][i // 2 % 4])
        else:
            words = [*rng.choice(SPAM_WORDS if label == "spam" else HAM_WORDS, 2), *rng.choice(COMMON, 4)]
            rows.append(" ".join(words))
    X = np.array(rows, dtype=object).reshape(-1, 1)
    settings = {**FAST, "epochs": 15, "learning_rate": 0.01, "batch_size": 16}
    net = KerasTextNetwork(pooling=pooling, seed=1, **settings).fit(X[:100], y[:100])
    assert not np.isnan(net.history_["loss"]).any()
    spam = net.predict_proba(X[100:])[:, 1]
    assert np.isfinite(spam).all() and spam.std() > 0.05, "not one constant output"
    with_words = np.arange(100, n) % 2 == 0
    assert roc_auc_score(y[100:][with_words] == "spam", spam[with_words]) > 0.8
    assert roc_auc_score(y[100:] == "spam", spam) > 0.7, "every row, the empty ones included"


def test_vocabulary_and_sequence_length_are_bounded(table):
    X, y = texts(table, with_links=False), table["label"].to_numpy()
    net = KerasTextNetwork(**{**FAST, "vocabulary_size": 100, "sequence_length": 4}).fit(X, y)
    assert len(net.vocabulary_) <= 100
    assert net.word_ids(X[:3]).shape == (3, 4) and net.other_features_ == 0


# -- seeds, events, Stop --------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_network_and_another_seed_another(table):
    X, y = texts(table), table["label"].to_numpy()
    quick = {**FAST, "epochs": 2}
    first, again, other = (KerasTextNetwork(seed=s, **quick).fit(X[:40], y[:40]) for s in (5, 5, 6))
    np.testing.assert_array_equal(first.predict_proba(X[60:]), again.predict_proba(X[60:]))
    assert not np.allclose(first.predict_proba(X[60:]), other.predict_proba(X[60:]))


def test_every_epoch_is_reported_with_its_validation_metrics(binary_fit):
    net, events = binary_fit
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == list(range(1, net.stopped_epoch_ + 1))
    assert all(e.model == "Text A" and e.epochs == FAST["epochs"] for e in epochs)
    assert {"loss", "val_loss", "accuracy", "val_auc"} <= set(epochs[-1].metrics)
    assert net.history_["val_loss"] == [e.metrics["val_loss"] for e in epochs]
    assert 1 <= net.best_epoch_ <= net.stopped_epoch_


def test_stop_ends_after_the_epoch_in_progress_and_keeps_the_best_weights(table):
    X, y = texts(table), table["label"].to_numpy()
    net = KerasTextNetwork(**{**FAST, "epochs": 50}).fit(
        X[:60], y[:60], validation_data=(X[60:], y[60:]), should_stop=lambda: True
    )
    assert net.stopped_epoch_ == 1 and net.stop_reason_ == "stopped" and net.stopped_early_


# -- refusals --------------------------------------------------------------------------------------------


def test_bad_settings_and_inputs_are_refused_in_words(table):
    X, y = texts(table), table["label"].to_numpy()
    with pytest.raises(DashboardError, match=r"'pooling' parameter of the Text network must be one of average"):
        KerasTextNetwork(pooling="max").fit(X, y)
    with pytest.raises(DashboardError, match=r"'sequence_length' .* must be an int in \[4, 1000\]. Got 2"):
        KerasTextNetwork(sequence_length=2).fit(X, y)
    with pytest.raises(DashboardError, match="none of the features is a text column"):
        KerasTextNetwork(text_columns=0).fit(X[:, 1:], y)
    numbers_after = X.copy()
    numbers_after[0, 1] = "many"
    with pytest.raises(DashboardError, match="a column after the text is not numeric"):
        KerasTextNetwork(**FAST).fit(numbers_after, y)


def test_a_table_without_text_fails_this_model_only_with_the_reason():
    from core.training import run_training
    from core.training.request import ModelFailure

    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=60), "label": ["a", "b"] * 30})
    request = make_training_request(frame, "label", models=[("keras_text", FAST), "logistic_regression"])
    results = run_training(request)
    failed = next(r for r in results if r.key == "keras_text")
    assert isinstance(failed, ModelFailure) and "none of the features is a text column" in failed.message
    assert any(r.key == "logistic_regression" and not isinstance(r, ModelFailure) for r in results)


def test_smote_is_refused_for_text_with_another_way_offered(table):
    from core.training.fit import train_model
    from core.training.request import ModelFailure

    request = make_training_request(table, "label", models=[("keras_text", FAST)], imbalance="smote")
    failed = train_model(request, request.models[-1])
    assert isinstance(failed, ModelFailure) and "SMOTE" in failed.message and "oversampling" in failed.message


# -- through the app: pipeline, bundle, budget, layer table, SHAP --------------------------------------------


@pytest.fixture(scope="module")
def trained_spam(table):
    from core.training import train_one

    learns = {**FAST, "epochs": 20, "learning_rate": 0.01, "batch_size": 16}  # enough to read the words
    request = make_training_request(table, "label", models=[("keras_text", learns)], seed=3)
    return request, train_one(request, request.models[-1])


def test_the_pipeline_passes_the_text_as_words_and_the_other_columns_as_numbers(trained_spam, table):
    request, model = trained_spam
    assert request.roles["message"] == Role.TEXT
    net = model.pipeline.steps[-1][1]
    assert net.text_columns == 1 and net.other_features_ == 1
    assert model.sources[0] == ("text_0__message", ("message",))
    Xt = model.pipeline[:-1].transform(table[request.features].head(2))
    assert Xt[0, 0] == table["message"].iloc[0], "the text reaches the network as it was written"
    assert model.history and model.best_epoch and model.scores["accuracy"] > 0.9


def test_a_bundle_gives_the_same_predictions_and_keeps_the_vocabulary(trained_spam):
    from core.export import export_bundle, load_bundle
    from core.predict import check_batch, predict_frame, usable_from_training

    request, model = trained_spam
    usable = usable_from_training(model, request, "messages.csv")
    restored = load_bundle(export_bundle(usable), file_name="text.zip")
    net = restored.pipeline.steps[-1][1]
    assert net.vocabulary_ == model.pipeline.steps[-1][1].vocabulary_
    X, _ = request.xy(request.split.valid)
    aligned, report = check_batch(X, restored.schema)
    assert report.ok
    pd.testing.assert_frame_equal(predict_frame(usable, X), predict_frame(restored, aligned))


def test_a_bundle_declaring_a_huge_embedding_is_refused_before_keras_builds_it(trained_spam):
    import io
    import zipfile

    from core.export import BundleError, export_bundle, load_bundle
    from core.predict import usable_from_training

    request, model = trained_spam
    bundle = export_bundle(usable_from_training(model, request, "messages.csv"))
    outer = zipfile.ZipFile(io.BytesIO(bundle))
    network = zipfile.ZipFile(io.BytesIO(outer.read("network.keras")))
    config = json.loads(network.read("config.json"))
    embedding = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Embedding")
    embedding["config"]["input_dim"] = 2_000_000_000
    rebuilt_network, rebuilt = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(rebuilt_network, "w") as out:
        for name in network.namelist():
            out.writestr(name, json.dumps(config) if name == "config.json" else network.read(name))
    with zipfile.ZipFile(rebuilt, "w") as out:
        for name in outer.namelist():
            out.writestr(name, rebuilt_network.getvalue() if name == "network.keras" else outer.read(name))
    with pytest.raises(BundleError, match="weights would take up to"):
        load_bundle(rebuilt.getvalue())


@pytest.mark.parametrize(("pooling", "task", "classes"), [("average", BINARY, 2), ("convolution", MULTICLASS, 4)])
def test_the_layer_table_counts_what_keras_builds(pooling, task, classes):
    import keras

    from core.network_layers import output_for

    params = {**get_spec("keras_text").defaults(), **FAST, "pooling": pooling}
    net = KerasTextNetwork(task=task, **{k: v for k, v in params.items() if k != "early_stopping"})
    net.other_features_ = 3  # as fit sets it: the columns beside the text
    model = net._build_text(keras, 150, output_for(task, classes, "auto"))  # a vocabulary of 150 words
    rows = text_layer_table({**params, "vocabulary_size": 150}, task, classes, 3)
    assert sum(r["parameters"] for r in rows) == model.count_params()
    assert rows[0]["output shape"] == "(None, 12)" and rows[-1]["output shape"] == f"(None, {1 if classes == 2 else 4})"


def test_the_budget_estimates_it_from_its_size_and_shrinks_its_epochs(table):
    from core.training import budget

    request = make_training_request(table, "label", models=[("keras_text", {**FAST, "epochs": 40})])
    run = request.models[-1]
    small = budget.estimate(request, run)
    longer = budget.estimate(request, type(run)(run.key, run.name, {**run.params, "sequence_length": 400}))
    assert small.probed_rows == 0 and small.seconds(1000) < longer.seconds(1000)
    plan = budget.plan(request, {run.name: small}, small.seconds(len(request.split.train)) / 3, 1)
    planned = next(m for m in plan.models if m.name == run.name)
    assert planned.run is not None and planned.run.params["epochs"] < 40 and "epochs" in planned.change


def test_shap_explains_the_text_network_on_the_persons_columns(trained_spam):
    from core import explain as ce

    request, model = trained_spam
    X_valid, _ = request.xy(request.split.valid)
    X_train, y_train = request.xy(request.split.train)
    expl = ce.explain(model, X_valid.head(6), X_train, target="label", background_y=y_train, positive="spam")
    importance = ce.importance_frame(expl)
    assert set(importance["column"]) == {"message", "links"}
    assert importance.iloc[0]["column"] == "message", "the words carry the signal"


def test_it_is_offered_only_for_tasks_it_can_do_and_said_to_read_text():
    spec = get_spec("keras_text")
    assert spec.raw_text and spec.needs_tensorflow and spec.family == "neural" and spec.explainer == "kernel"
    assert spec.tasks == {Task.BINARY, Task.MULTICLASS, Task.REGRESSION} and not spec.recommended
    for name in ("epochs", "early_stopping", "restore_best_weights"):  # what choose.refit sets on a network
        assert name in spec.defaults()
