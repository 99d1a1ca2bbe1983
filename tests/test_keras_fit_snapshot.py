"""The three Keras networks train exactly as before their fits became one (``KerasNetwork.fit`` with steps
the sequence and text networks override).

Each network is fitted on a tiny table with a fixed seed, for classification and regression (the
sequence network as an LSTM for one and a 1-D convolution for the other, the text network with either
pooling), with validation rows and balanced class weights where they apply; its predictions and epochs must equal
the ones recorded before the change. The learning rate is high enough that another seed (other initial
weights and another row order) moves the predictions far beyond the tolerance (the last test checks it does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from core.keras_net import KerasNetwork
from core.keras_sequence import SequenceNetwork
from core.keras_text import KerasTextNetwork

BINARY, REGRESSION = "binary classification", "regression"
TRAINING = {"epochs": 3, "batch_size": 8, "learning_rate": 0.05, "patience": 2}
WORDS = ["prize", "winner", "cash", "meeting", "lunch", "report", "the", "you", "today"]


def _dense_data() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(32, 3)).astype(np.float32)
    return X, {BINARY: np.where(X[:, 0] + X[:, 1] > 0, "yes", "no"), REGRESSION: 3 * X[:, 0] + X[:, 2] + 10}


def _sequence_data() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Features, then the entity and order keys, rows shuffled; the target is the feature two rows back."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=32)
    entity, order = np.repeat([0.0, 1.0], 16), np.tile(np.arange(16.0), 2)
    past = np.r_[0.0, 0.0, x[:-2]]
    X = np.column_stack([x, rng.normal(size=32), entity, order])[rng.permutation(32)]
    y = past[(X[:, 2] * 16 + X[:, 3]).astype(int)]
    return X, {BINARY: (y > 0).astype(int), REGRESSION: 2 * y + 1}


def _text_data() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A text column (one empty text) and a number column."""
    rng = np.random.default_rng(5)
    texts = [" ".join(rng.choice(WORDS, 4)) for _ in range(32)]
    texts[3] = ""
    X = np.array([[t, float(i % 3)] for i, t in enumerate(texts)], dtype=object)
    spam = np.array(["spam" if ("prize" in t or "cash" in t) else "ham" for t in texts])
    return X, {BINARY: spam, REGRESSION: np.array([len(t) / 5.0 for t in texts])}


DATA: dict[str, Callable[[], tuple[np.ndarray, dict[str, np.ndarray]]]] = {
    "dense": _dense_data,
    "lstm": _sequence_data,
    "conv1d": _sequence_data,
    "text": _text_data,
}


def network(kind: str, task: str, seed: int = 7) -> Any:
    weights = "balanced" if task == BINARY else None
    common = {"task": task, "seed": seed, "class_weight": weights, **TRAINING}
    if kind == "dense":
        return KerasNetwork(layers=[{"type": "dense", "units": 6}, {"type": "dropout", "rate": 0.2}], **common)
    if kind in ("lstm", "conv1d"):
        first = {"type": "lstm", "units": 4} if kind == "lstm" else {"type": "conv1d", "filters": 4, "kernel_size": 2}
        return SequenceNetwork(layers=[first, {"type": "dense", "units": 4}], window=3, **common)
    pooling = "convolution" if task == BINARY else "average"
    return KerasTextNetwork(
        pooling=pooling, vocabulary_size=100, sequence_length=6, embedding_dim=4, dense_units=4, filters=4, **common
    )


def fitted_outputs(kind: str, task: str, seed: int = 7) -> tuple[list[float], list[int]]:
    """(the first 8 rows' outputs: probability of the second class or the prediction, [best epoch, epochs run])."""
    X, targets = DATA[kind]()
    y = targets[task]
    net = network(kind, task, seed).fit(X[8:], y[8:], validation_data=(X[:8], y[:8]))
    out = net.predict_proba(X[:8])[:, 1] if task == BINARY else net.predict(X[:8])
    return [round(float(v), 6) for v in out], [int(net.best_epoch_), int(net.stopped_epoch_)]


#: Recorded with the code before the fits were shared (same seeds, same data).
BEFORE: dict[tuple[str, str], tuple[list[float], list[int]]] = {
    ("dense", BINARY): ([0.285703, 0.33911, 0.277838, 0.781585, 0.358606, 0.579255, 0.558022, 0.752633], [3, 3]),
    ("dense", REGRESSION): (
        [15.999707, 8.483303, 6.31362, 13.917905, 9.600215, 7.982208, 10.581248, 10.786414],
        [3, 3],
    ),
    ("lstm", BINARY): ([0.619497, 0.512486, 0.619551, 0.518062, 0.512486, 0.582764, 0.61367, 0.538948], [2, 3]),
    ("conv1d", REGRESSION): ([0.490353, 0.79301, 0.476098, 0.482284, 0.542119, 0.679756, 0.95219, 0.759475], [2, 3]),
    ("text", BINARY): ([0.599757, 0.462627, 0.469658, 0.451348, 0.522332, 0.461013, 0.475512, 0.400154], [3, 3]),
    ("text", REGRESSION): ([3.988988, 4.488118, 4.416131, 4.410538, 4.384226, 4.322924, 4.357188, 4.331309], [3, 3]),
}


@pytest.mark.parametrize(("kind", "task"), list(BEFORE))
def test_each_network_predicts_as_before_with_the_same_seed(kind, task):
    outputs, epochs = fitted_outputs(kind, task)
    expected, expected_epochs = BEFORE[kind, task]
    assert epochs == expected_epochs
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-4)


def test_another_seed_moves_the_predictions_far_beyond_the_tolerance():
    outputs, _ = fitted_outputs("conv1d", REGRESSION, seed=8)
    assert np.abs(np.array(outputs) - np.array(BEFORE["conv1d", REGRESSION][0])).max() > 100 * 1e-4
