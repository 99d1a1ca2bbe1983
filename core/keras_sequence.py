"""A Keras network over windows of the last N rows per entity (an LSTM or a 1-D convolution).

:class:`SequenceNetwork` reads, for each row, the preprocessed features of the last ``window`` rows
of the same entity (the row itself last), so a pattern that needs the past — today's demand follows
the temperature of three days ago — is in its input. It is a subclass of
:class:`~core.keras_net.KerasNetwork` and shares its target encoding, output layer, metrics, epoch
events, Stop, early stopping with the best weights, class weights, seeds and determinism.

How its input arrives: the model's pipeline (:func:`core.features.build_pipeline` with
``sequence``) preprocesses each row as for any network and adds two number columns last, the
entity key and the order key (:class:`core.sequence_windows.SequenceKeys`). The network orders
rows by them, builds each row's window with index arithmetic
(:func:`core.sequence_windows.window_index`) and zero-pads the start of a sequence (features are
standardised, so zero is the training mean), with a 0/1 padding channel saying which steps are
padding. Fitting remembers the last ``window − 1`` preprocessed rows of each entity
(``history_*``): rows given later (validation rows while fitting, test rows, a row on the Predict
page) take their past from them, followed by the rows given with them. A row's window never holds
a later row.

Windows are gathered batch by batch inside the ``tf.data`` pipeline (the preprocessed rows once,
plus ``rows × window`` positions), so memory grows with the rows, not with rows × window.

Importing this module loads neither TensorFlow nor Keras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from core.keras_fit import PREDICT_CHUNK, TrainingInput, shuffled_batches
from core.keras_net import KerasNetwork, NetworkInputError, _refuse_gaps
from core.network_layers import REGRESSION, Output, is_int
from core.network_rules import SEQUENCE_LAYER_TYPES, SEQUENCE_RANGES, check_layers
from core.sequence_windows import remembered, window_index, with_history

SEQUENCE_NAME = "Sequence network"
#: What a new LSTM and a new 1-D convolution network start with.
DEFAULT_WINDOW = 7
LSTM_LAYERS: tuple[dict[str, Any], ...] = (
    {"type": "lstm", "units": 32},
    {"type": "dense", "units": 16, "activation": "relu"},
)
CONV_LAYERS: tuple[dict[str, Any], ...] = (
    {"type": "conv1d", "filters": 32, "kernel_size": 3, "activation": "relu"},
    {"type": "dense", "units": 16, "activation": "relu"},
)
#: Largest window array built at once outside training (validation rows; float32 bytes).
MAX_WINDOW_BYTES = 1024**3


class SequenceNetwork(KerasNetwork):
    """Windows of the last ``window`` rows per entity in, prediction out: sequence layers → dense layers → output.

    Args:
        layers: Sequence layers (``lstm``, ``conv1d``, ``pool``) first, then dense, dropout and batch
            normalisation layers (:func:`core.network_rules.check_layers` with ``sequence``).
        window: Rows per window, the row itself included.
        task, optimizer, learning_rate, momentum, batch_size, epochs, early_stopping, patience,
            restore_best_weights, l2, loss, seed, class_weight, verbose: As for
            :class:`~core.keras_net.KerasNetwork`.

    Attributes:
        history_entity_, history_order_, history_values_: The last ``window − 1`` preprocessed training
            rows of each entity (keys and features), the past of rows given later.
        n_features_: Preprocessed features per row (the input's columns but the two keys).
        model_, classes_, history_, best_epoch_, stopped_epoch_, stopped_early_, stop_reason_,
            n_features_in_, y_mean_, y_std_: As for :class:`~core.keras_net.KerasNetwork`.
    """

    def __init__(
        self,
        layers: Sequence[Mapping[str, Any]] = LSTM_LAYERS,
        window: int = DEFAULT_WINDOW,
        task: str = "binary classification",
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        momentum: float = 0.0,
        batch_size: int = 32,
        epochs: int = 100,
        early_stopping: bool = True,
        patience: int = 10,
        restore_best_weights: bool = True,
        l2: float = 0.0,
        loss: str = "auto",
        seed: int = 0,
        class_weight: str | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            layers=layers,
            task=task,
            optimizer=optimizer,
            learning_rate=learning_rate,
            momentum=momentum,
            batch_size=batch_size,
            epochs=epochs,
            early_stopping=early_stopping,
            patience=patience,
            restore_best_weights=restore_best_weights,
            l2=l2,
            loss=loss,
            seed=seed,
            class_weight=class_weight,
            verbose=verbose,
        )
        self.window = window

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True  # a row without a time has a missing order key
        return tags

    def _validated_layers(self) -> tuple[dict[str, Any], ...]:
        low, high = SEQUENCE_RANGES["window"]
        if not (is_int(self.window) and low <= self.window <= high):
            raise NetworkInputError(
                f"The 'window' parameter of the {SEQUENCE_NAME} must be an int in [{low}, {high}]. Got {self.window!r}."
            )
        return check_layers(self.layers, f"The layers of a {SEQUENCE_NAME.lower()}", sequence=True)

    # -- input ---------------------------------------------------------------------------------

    def _parts(self, X: Any, *, fitting: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(entity keys, order keys, features as float32) of the pipeline's output."""
        X = X.toarray() if sp.issparse(X) else X
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise NetworkInputError(f"The {SEQUENCE_NAME} needs numeric input columns: {err}") from err
        if X.ndim != 2 or X.shape[1] < 3:
            raise NetworkInputError(
                f"The {SEQUENCE_NAME} needs each row's features followed by its entity and order keys.",
                hint="Set a time order in the Time and sequences section of the Models page.",
            )
        if fitting:
            self.n_features_in_ = X.shape[1]
            self.n_features_ = X.shape[1] - 2
        elif X.shape[1] != self.n_features_in_:
            raise NetworkInputError(
                f"The {SEQUENCE_NAME} was trained on {self.n_features_in_} input columns; these rows have {X.shape[1]}."
            )
        features = np.ascontiguousarray(X[:, :-2], dtype=np.float32)
        _refuse_gaps(features)
        if not np.isfinite(X[:, -2]).all():
            raise NetworkInputError(f"The {SEQUENCE_NAME} got rows without an entity key.")
        return X[:, -2], X[:, -1], features

    def _plan(self, X: Any, *, fitting: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(padded rows, window positions): row 0 of the first is zeros (padding); the second holds, for each
        given row, ``window`` positions into the first (0: padding), oldest first."""
        entity, order, features = self._parts(X, fitting=fitting)
        length = int(self.window)
        if fitting:
            lead = 0
        else:
            check_is_fitted(self, "history_values_")
            history = (self.history_entity_, self.history_order_, self.history_values_)
            entity, order, features, lead = with_history(history, entity, order, features)
        index = window_index(entity, order, length)[lead:] + 1
        padded = np.concatenate([np.zeros((1, features.shape[1]), dtype=np.float32), features])
        return padded, index

    def windows(self, X: Any) -> np.ndarray:
        """Each given row's window (rows × window × (features + padding channel)), float32, the row itself last.

        ``X`` is the pipeline's output for the rows (features, then the two keys); their past comes from
        the rows remembered at fit, then from one another.
        """
        padded, index = self._plan(X)
        return _gather(padded, index)

    # -- fitting -------------------------------------------------------------------------------

    _display_name = SEQUENCE_NAME

    def _training_rows(self, X: Any) -> tuple[tuple[np.ndarray, np.ndarray], int]:
        """(padded rows, window positions) of the training rows; remembers each entity's last ``window − 1``
        rows first, so the validation rows' windows reach back into the training rows."""
        padded, index = self._plan(X, fitting=True)
        entity, order, features = self._parts(X, fitting=False)
        kept = remembered(entity, order, int(self.window) - 1)
        self.history_entity_, self.history_order_, self.history_values_ = entity[kept], order[kept], features[kept]
        return (padded, index), len(index)

    def _training_input(
        self, keras: Any, rows: tuple[np.ndarray, np.ndarray], y: np.ndarray, weight: np.ndarray | None
    ) -> TrainingInput:
        """Training windows in a new seeded order every epoch (:func:`core.keras_fit.shuffled_batches`), each
        batch's windows gathered from the rows there."""
        import tensorflow as tf

        padded, index = rows
        values, places = tf.constant(padded), tf.constant(index.astype(np.int32))

        def batch_windows(picked: Any) -> Any:
            at = tf.gather(places, picked)
            flag = tf.cast(tf.equal(at, 0), tf.float32)[..., None]
            return tf.concat([tf.gather(values, at), flag], axis=2)

        return shuffled_batches(batch_windows, y, weight, int(self.batch_size), int(self.seed), int(self.epochs))

    def _validation_rows(self, X: Any) -> np.ndarray:
        """The validation rows' windows, built at once (refused when they would not fit in memory)."""
        padded, index = self._plan(X)
        size = index.size * padded.shape[1] * 4
        if size > MAX_WINDOW_BYTES:
            raise NetworkInputError(
                f"The validation rows' windows would need {size / 1024**3:.1f} GB of memory.",
                hint="Pick a shorter window, fewer feature columns or a smaller validation share.",
            )
        return _gather(padded, index)

    def _build(
        self, keras: Any, layers: tuple[dict[str, Any], ...], rows: tuple[np.ndarray, np.ndarray], output: Output
    ) -> Any:
        """The Keras model over windows of the rows' features and the padding channel."""
        channels = rows[0].shape[1] + 1

        def regulariser() -> Any:
            return keras.regularizers.L2(self.l2) if self.l2 else None

        def initialiser(number: int) -> Any:
            return keras.initializers.GlorotUniform(seed=self._layer_seed(number))

        inputs = keras.Input(shape=(int(self.window), channels), name="window")
        x = inputs
        counters: dict[str, int] = {}
        sequence = True  # whether x is still one vector per step
        for number, layer in enumerate(layers, start=1):
            kind = layer["type"]
            counters[kind] = counters.get(kind, 0) + 1
            name = f"{kind}_{counters[kind]}"
            more = any(later["type"] in SEQUENCE_LAYER_TYPES for later in layers[number:])
            if kind == "dense" and sequence:
                x = keras.layers.Flatten(name=f"flatten_{number}")(x)
                sequence = False
            if kind == "lstm":
                x = keras.layers.LSTM(
                    layer["units"],
                    return_sequences=more,
                    kernel_initializer=initialiser(number),
                    recurrent_initializer=keras.initializers.Orthogonal(seed=self._layer_seed(number) + 1),
                    kernel_regularizer=regulariser(),
                    name=name,
                )(x)
                sequence = more
            elif kind == "conv1d":
                x = keras.layers.Conv1D(
                    layer["filters"],
                    layer["kernel_size"],
                    padding="same",
                    activation=layer["activation"],
                    kernel_initializer=initialiser(number),
                    kernel_regularizer=regulariser(),
                    name=name,
                )(x)
            elif kind == "pool":
                x = keras.layers.MaxPooling1D(layer["size"], padding="same", name=name)(x)
            elif kind == "dense":
                x = keras.layers.Dense(
                    layer["units"],
                    activation=layer["activation"],
                    kernel_regularizer=regulariser(),
                    kernel_initializer=initialiser(number),
                    name=name,
                )(x)
            elif kind == "dropout":
                x = keras.layers.Dropout(layer["rate"], seed=self._layer_seed(number), name=name)(x)
            else:
                x = keras.layers.BatchNormalization(name=name)(x)
        if sequence:
            x = keras.layers.Flatten(name="flatten")(x)
        outputs = keras.layers.Dense(
            output.units,
            activation=output.activation,
            kernel_regularizer=regulariser(),
            kernel_initializer=initialiser(len(layers) + 1),
            name="output",
        )(x)
        return keras.Model(inputs, outputs, name="sequence_network")

    # -- predicting ----------------------------------------------------------------------------

    def _forward(self, X: Any) -> np.ndarray:
        """Raw network outputs for the rows' windows, built and run in chunks."""
        check_is_fitted(self, "model_")
        padded, index = self._plan(X)
        return self.forward_windows(padded, index)

    def forward_windows(self, padded: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        """Raw outputs for windows: ``padded`` holds whole windows (rows × window × channels), or, with
        ``index``, the padded rows that ``index`` picks windows from."""
        check_is_fitted(self, "model_")
        n = len(index) if index is not None else len(padded)
        chunks = []
        for start in range(0, n, PREDICT_CHUNK):
            if index is None:
                batch = padded[start : start + PREDICT_CHUNK]
            else:
                batch = _gather(padded, index[start : start + PREDICT_CHUNK])
            chunks.append(np.asarray(self.model_.predict_on_batch(np.ascontiguousarray(batch, dtype=np.float32))))
        if not chunks:
            return np.zeros((0, int(self.model_.outputs[0].shape[-1])))
        return np.concatenate(chunks).astype(np.float64)

    def window_output(self, windows: np.ndarray) -> np.ndarray:
        """What an explanation reads for whole windows: class probabilities (rows × classes) or the
        prediction in the target's units (rows × 1)."""
        out = self.forward_windows(windows)
        if not self._is_classifier():
            return out[:, :1] * self.y_std_ + self.y_mean_
        if out.shape[1] == 1:
            p = np.clip(out[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - p, p])
        out = np.clip(out, 0.0, None)
        return out / out.sum(axis=1, keepdims=True)


def _gather(padded: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Windows (rows × window × (features + 1)): the rows ``index`` picks, and a 1 where a step is padding."""
    values = padded[index]
    flag = (index == 0).astype(np.float32)[..., None]
    return np.concatenate([values, flag], axis=2)


# --------------------------------------------------------------------------------------------
# The layer table and the size (no Keras)
# --------------------------------------------------------------------------------------------


def sequence_ops(layers: Sequence[Mapping[str, Any]], n_features: int, window: int) -> int:
    """Multiply-adds per row and pass of a sequence network: what its training time grows with.

    A dense layer's weights once per row; an LSTM's and a convolution's once per step of the window.
    Used by :mod:`core.training.budget` to estimate a fit.
    """
    from core.network_layers import layer_table

    table = layer_table(layers, n_features, REGRESSION, window=window)
    ops = 0
    for row in table:
        steps = int(window) if row["type"] in ("lstm", "conv1d") else 1
        ops += int(row["parameters"]) * steps
    return ops
