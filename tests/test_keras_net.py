"""KerasNetwork: the estimator contract, progress events, Stop with the best weights, layer arithmetic.

Keras fits here use 32 rows and a few epochs; the fitted networks are shared by module fixtures.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from core.errors import DashboardError
from core.events import EpochEnded
from core.keras_fit import Progress
from core.keras_net import KerasNetwork
from core.network_layers import DEFAULT_LAYERS, count_parameters, layer_table, validate_layers
from core.network_rules import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[1]
BINARY, MULTICLASS, REGRESSION = "binary classification", "multiclass classification", "regression"
MIXED_LAYERS = (
    {"type": "batchnorm"},
    {"type": "dense", "units": 8, "activation": "tanh"},
    {"type": "batchnorm"},
    {"type": "dropout", "rate": 0.2},
    {"type": "dense", "units": 5},
)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def y_binary(X) -> np.ndarray:
    return np.where(X[:, 0] + X[:, 1] > 0, "yes", "no").astype(object)


@pytest.fixture(scope="module")
def binary_fit(X, y_binary):
    events = []
    net = KerasNetwork(epochs=2, batch_size=8).fit(
        X, y_binary, validation_data=(X[:12], y_binary[:12]), listener=events.append, model_name="Net A"
    )
    return net, events


@pytest.fixture(scope="module")
def multiclass_fit(X):
    y = np.array(["ant", "bee", "cat"])[np.digitize(X[:, 2], [-0.4, 0.4])]
    return KerasNetwork(layers=MIXED_LAYERS, task=MULTICLASS, epochs=2, batch_size=8).fit(X, y), y


# -- no Keras at import, no Keras needed for the arithmetic ---------------------------------------


def test_importing_the_module_loads_neither_tensorflow_nor_keras():
    code = (
        "import sys, json, core.keras_net as k, core.network_layers as n;"
        "n.layer_table(n.DEFAULT_LAYERS, 3, 'regression');"
        "k.KerasNetwork().get_params();"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_validate_layers_normalises_and_fills_the_default_activation():
    clean = validate_layers([{"type": "Dense", "units": np.int64(4)}, {"type": "dropout", "rate": 0}])
    assert clean == ({"type": "dense", "units": 4, "activation": "relu"}, {"type": "dropout", "rate": 0.0})
    assert validate_layers(DEFAULT_LAYERS) == DEFAULT_LAYERS
    assert "leaky_relu" in ACTIVATIONS


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [{"type": "dense", "units": 8}, {"type": "dropout", "rate": 1.5}],
            "Layer 2 (dropout): rate must be a float in [0, 0.9]. Got 1.5.",
        ),
        ([{"type": "dense", "units": 0}], "Layer 1 (dense): units must be an int in [1, 4096]. Got 0."),
        ([{"type": "dense", "units": 8.5}], "Layer 1 (dense): units must be an int in [1, 4096]. Got 8.5."),
        ([{"type": "dense", "units": 8, "activation": "softmax"}], "Layer 1 (dense): activation must be one of"),
        (
            [{"type": "dense", "units": 8}, {"type": "conv"}],
            "Layer 2: type must be one of 'dense', 'dropout', 'batchnorm'",
        ),
        ([{"type": "dense", "units": 8}, {"type": "batchnorm", "units": 3}], "Layer 2 (batchnorm): unknown setting"),
        ([{"type": "dense", "units": 8}, "dense"], "Layer 2 must be a dict"),
        ([{"type": "dropout", "rate": 0.1}], "at least one dense layer"),
        ([], "at least one dense layer"),
        ([{"type": "dense", "units": 2}] * 21, "at most 20 layers. Got 21."),
        ({"type": "dense", "units": 2}, "must be a list"),
    ],
)
def test_validate_layers_refuses_bad_lists_naming_the_layer(layers, message):
    with pytest.raises(DashboardError) as caught:
        validate_layers(layers)
    assert message in caught.value.user_message


def test_layer_table_counts_by_hand():
    rows = layer_table(DEFAULT_LAYERS, n_features=10, task=BINARY, l2=0.01)
    assert [r["layer"] for r in rows] == ["Input", "Dense 1", "Dropout 1", "Dense 2", "Output"]
    assert [r["parameters"] for r in rows] == [0, 64 * 10 + 64, 0, 64 * 32 + 32, 33]
    assert rows[1]["settings"] == "64 units, relu, L2 0.01"
    assert rows[-1]["output shape"] == "(None, 1)"
    bn = layer_table(MIXED_LAYERS, n_features=4, task=MULTICLASS, n_classes=3)
    assert bn[1]["parameters"] == 16 and "non-trainable" in bn[1]["settings"]
    assert bn[-1]["output shape"] == "(None, 3)" and bn[-1]["parameters"] == 6 * 3
    assert count_parameters(DEFAULT_LAYERS, 10, REGRESSION) == 704 + 2080 + 33


@pytest.mark.parametrize(
    ("task", "loss"),
    [(REGRESSION, "binary_crossentropy"), (BINARY, "mse"), (MULTICLASS, "binary_crossentropy"), ("clustering", "auto")],
)
def test_nonsense_task_and_loss_combinations_are_refused_before_keras_loads(task, loss, X):
    with pytest.raises(DashboardError, match=r"does not fit|can do"):
        layer_table(DEFAULT_LAYERS, 4, task, loss=loss)
    with pytest.raises(DashboardError):
        KerasNetwork(task=task, loss=loss, epochs=1).fit(X, X[:, 0] > 0)


def test_bad_parameters_speak_like_scikit_learn(X, y_binary):
    with pytest.raises(DashboardError, match=r"The 'learning_rate' parameter of Neural network must be a float"):
        KerasNetwork(learning_rate=0).fit(X, y_binary)
    with pytest.raises(DashboardError, match="only applies to classification"):
        KerasNetwork(task=REGRESSION, class_weight="balanced").fit(X, X[:, 0])
    with pytest.raises(DashboardError, match=r"exactly 2 classes\. Got 3"):
        KerasNetwork().fit(X, np.arange(32) % 3)


# -- the epoch bookkeeping, without Keras ---------------------------------------------------------


class FakeModel:
    """Stands in for a keras.Model: weights are a list holding the epoch they were taken after."""

    def __init__(self) -> None:
        self.epoch, self.stop_training, self.restored = 0, False, None

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.restored = weights


def run_progress(losses, **kwargs):
    model, events = FakeModel(), []
    progress = Progress(
        "Net", epochs=len(losses), monitor="val_loss", listener=events.append, **{"patience": None, **kwargs}
    )
    for epoch, loss in enumerate(losses):
        model.epoch = epoch + 1
        if progress.epoch_end(epoch, {"loss": 1.0, "val_loss": loss}, model):
            break
    return progress, model, events


def test_stop_keeps_the_best_epochs_weights():
    calls = iter([False, False, True])
    progress, model, events = run_progress([0.9, 0.5, 0.7, 0.1], keep_best=True, should_stop=lambda: next(calls))
    assert model.stop_training and progress.reason == "stopped" and progress.epochs_run == 3
    assert [e.epoch for e in events] == [1, 2, 3]
    progress.finish(model)
    assert progress.best_epoch == 2 and model.restored == [2]


def test_early_stopping_patience_and_divergence():
    progress, _, _ = run_progress([0.5, 0.6, 0.7, 0.8, 0.9], keep_best=False, patience=2)
    assert (progress.reason, progress.epochs_run, progress.best_epoch) == ("early stopping", 3, 1)
    progress, _, _ = run_progress([0.5, 0.4, float("nan"), 0.1], keep_best=False)
    assert (progress.reason, progress.best_epoch) == ("completed", 4)  # a NaN val_loss alone is no improvement
    progress, model, _ = run_progress([0.5], keep_best=False)
    progress.epoch_end(1, {"loss": float("nan")}, model)
    assert progress.reason == "diverged"
    progress.finish(model)
    assert model.restored == [1]  # diverged weights are useless: back to the best, whatever the setting


# -- real networks ---------------------------------------------------------------------------------


def test_binary_with_string_labels(binary_fit, X):
    net, _ = binary_fit
    assert list(net.classes_) == ["no", "yes"]
    assert set(net.predict(X)) <= {"no", "yes"}
    proba = net.predict_proba(X)
    assert proba.shape == (32, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert net.n_features_in_ == 4 and net.stopped_epoch_ == 2 and not net.stopped_early_
    assert net.model_.count_params() == count_parameters(DEFAULT_LAYERS, 4, BINARY)
    assert net.score(X, net.predict(X)) == 1.0


def test_epoch_events_and_history(binary_fit):
    net, events = binary_fit
    assert all(isinstance(e, EpochEnded) and e.model == "Net A" and e.epochs == 2 for e in events)
    assert [e.epoch for e in events] == [1, 2]
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "auc"} <= set(events[-1].metrics)
    assert net.history_["val_loss"] == [e.metrics["val_loss"] for e in events]
    assert net.best_epoch_ == int(np.argmin(net.history_["val_loss"])) + 1


def test_multiclass_with_batchnorm_and_dropout(multiclass_fit, X):
    net, y = multiclass_fit
    assert list(net.classes_) == ["ant", "bee", "cat"]
    proba = net.predict_proba(X)
    assert proba.shape == (32, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(net.predict(X)) <= set(y)
    assert net.model_.count_params() == count_parameters(MIXED_LAYERS, 4, MULTICLASS, n_classes=3)
    rows = layer_table(MIXED_LAYERS, 4, MULTICLASS, n_classes=3)
    keras_layers = [layer for layer in net.model_.layers if layer.name != "input"]
    assert [r["parameters"] for r in rows[1:]] == [layer.count_params() for layer in keras_layers]
    assert [r["output shape"] for r in rows[1:]] == [str(layer.output.shape) for layer in keras_layers]


def test_regression_predicts_in_original_units_and_keeps_the_best_epoch(X):
    y = 1000.0 + 50.0 * X[:, 0] - 20.0 * X[:, 1]
    net = KerasNetwork(task=REGRESSION, layers=({"type": "dense", "units": 16},), epochs=40, learning_rate=0.01)
    net.fit(X, y, validation_data=(X[:16], y[:16]))
    assert net.y_mean_ == pytest.approx(y.mean()) and net.y_std_ == pytest.approx(y.std())
    pred = net.predict(X)
    assert pred.dtype == np.float64 and abs(pred.mean() - 1000) < 100
    # val_mae is reported in the target's units, and the kept weights are those of best_epoch_.
    val_mae = np.abs(net.predict(X[:16]) - y[:16]).mean()
    assert net.history_["val_mae"][net.best_epoch_ - 1] == pytest.approx(val_mae, rel=1e-3)
    assert not hasattr(net, "predict_proba") and not hasattr(net, "classes_")


def test_should_stop_ends_training_with_the_best_weights(X, y_binary):
    events = []
    net = KerasNetwork(epochs=50, batch_size=8, learning_rate=0.05, layers=({"type": "dense", "units": 8},))
    net.fit(X, y_binary, validation_data=(X, y_binary), listener=events.append, should_stop=lambda: len(events) >= 2)
    assert net.stopped_epoch_ == 2 and net.stopped_early_ and net.stop_reason_ == "stopped"
    assert len(events) == 2 and net.best_epoch_ == int(np.argmin(net.history_["val_loss"])) + 1
    # The kept network scores exactly the best epoch's validation loss.
    p = np.clip(net.predict_proba(X)[:, 1], 1e-7, 1 - 1e-7)
    truth = (y_binary == "yes").astype(float)
    log_loss = -np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p))
    assert log_loss == pytest.approx(min(net.history_["val_loss"]), rel=1e-3)


def test_same_seed_same_network_and_clone(binary_fit, X, y_binary):
    net, _ = binary_fit
    again = clone(net).fit(X, y_binary, validation_data=(X[:12], y_binary[:12]))
    assert np.array_equal(again.predict_proba(X), net.predict_proba(X))
    fresh = clone(net)
    assert fresh.get_params() == net.get_params() and not hasattr(fresh, "model_")
    assert fresh.set_params(epochs=3, layers=MIXED_LAYERS).epochs == 3


def test_a_network_trains_the_same_alone_and_beside_others_and_never_reseeds_the_process(X, y_binary):
    """Sessions train at once in one process: one network's seed must not move another's numbers."""
    import threading

    import keras

    settings = {"epochs": 4, "batch_size": 8, "layers": MIXED_LAYERS, "seed": 7}
    alone = KerasNetwork(**settings).fit(X, y_binary, validation_data=(X[:12], y_binary[:12]))
    keras.utils.set_random_seed(12345)  # what another session's code might do to the process
    others = []

    def other(seed: int) -> None:
        others.append(KerasNetwork(epochs=4, batch_size=4, seed=seed).fit(X, y_binary))

    threads = [threading.Thread(target=other, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    beside = KerasNetwork(**settings).fit(X, y_binary, validation_data=(X[:12], y_binary[:12]))
    for thread in threads:
        thread.join()
    assert beside.history_ == alone.history_
    assert np.array_equal(beside.predict_proba(X), alone.predict_proba(X))
    assert len(others) == 2 and others[0].history_ != others[1].history_


def test_fitting_leaves_the_process_wide_random_state_alone(X, y_binary):
    """Fitting used to call keras.utils.set_random_seed, which reseeds Python, NumPy and TensorFlow for everyone."""
    import keras

    keras.utils.set_random_seed(99)
    expected = np.random.random()
    keras.utils.set_random_seed(99)
    KerasNetwork(epochs=1, batch_size=8, seed=3).fit(X, y_binary)
    assert np.random.random() == expected


def test_scikit_learn_sees_classifiers_and_regressors():
    assert is_classifier(KerasNetwork(task=BINARY)) and is_classifier(KerasNetwork(task=MULTICLASS))
    assert is_regressor(KerasNetwork(task=REGRESSION)) and not is_classifier(KerasNetwork(task=REGRESSION))
    assert KerasNetwork(task=REGRESSION)._estimator_type == "regressor"


def test_balanced_class_weight_on_imbalanced_sparse_input(X):
    y = np.array([1] * 4 + [0] * 28)
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    net = KerasNetwork(epochs=1, class_weight="balanced", loss="categorical_crossentropy").fit(X_sparse, y)
    assert list(net.classes_) == [0, 1] and net.model_.output_shape == (None, 2)
    assert np.allclose(net.predict_proba(X_sparse).sum(axis=1), 1.0)
    assert set(net.predict(X_sparse)) <= {0, 1} and "auc" in net.history_


def test_inside_a_pipeline(X, y_binary):
    events = []
    pipe = Pipeline([("scale", StandardScaler()), ("net", KerasNetwork(epochs=2))])
    pipe.fit(X * 100 + 5, y_binary, net__listener=events.append)
    assert is_classifier(pipe) and len(events) == 2
    assert pipe.predict_proba(X).shape == (32, 2) and set(pipe.predict(X)) <= {"no", "yes"}


def test_unseen_validation_labels_are_refused(X, y_binary):
    with pytest.raises(DashboardError, match="labels the training target lacks"):
        KerasNetwork(epochs=1).fit(X, y_binary, validation_data=(X[:2], np.array(["yes", "maybe"])))
