"""A Keras network with the scikit-learn estimator contract, and its layer arithmetic.

:class:`KerasNetwork` is a plain scikit-learn estimator (constructor stores arguments, ``fit``
does the work, learned state ends in ``_``), so it sits at the end of a ``Pipeline`` like any
other model. It reports progress as :class:`core.events.EpochEnded` events, honours a
``should_stop()`` callable, and keeps the best weights when training ends early.

Importing this module loads neither TensorFlow nor Keras: they are imported inside ``fit`` (about
2.5 s and 700 MB), so the app starts fast. :func:`layer_table`, :func:`count_parameters` and
:func:`validate_layers` are pure arithmetic and never need Keras.

Validation data passed to ``fit`` must already be in the network's input space: inside a
``Pipeline``, the training code transforms the validation split with the fitted preprocessing
steps (``pipeline[:-1].transform(X_val)``) before handing it over.
"""

from __future__ import annotations

import functools
import math
import numbers
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags, Tags
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from core.errors import DashboardError
from core.events import EpochEnded, Listener, ignore
from core.network_rules import LAYER_TYPES, RANGES, check_layers

#: The hidden layers a new network starts with.
DEFAULT_LAYERS: tuple[dict[str, Any], ...] = (
    {"type": "dense", "units": 64, "activation": "relu"},
    {"type": "dropout", "rate": 0.1},
    {"type": "dense", "units": 32, "activation": "relu"},
)
TASKS: tuple[str, ...] = ("binary classification", "multiclass classification", "regression")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop")
LOSSES: tuple[str, ...] = ("auto", "binary_crossentropy", "categorical_crossentropy", "mse", "mae", "huber")
#: Largest dense copy of a sparse input the network will make (float32 bytes).
MAX_DENSE_BYTES = 2 * 1024**3
#: Rows per forward pass in predict (``predict_on_batch`` per chunk; ``model.predict`` is far slower on small inputs).
PREDICT_CHUNK = 8192

_BINARY, _MULTICLASS, _REGRESSION = TASKS
_NAME = "Neural network"


# --------------------------------------------------------------------------------------------
# Layers: validation and arithmetic (no Keras)
# --------------------------------------------------------------------------------------------


def validate_layers(layers: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Check a list of hidden-layer settings and return it normalised (:func:`core.network_rules.check_layers`).

    Args:
        layers: Dicts such as ``{"type": "dense", "units": 64, "activation": "relu"}``,
            ``{"type": "dropout", "rate": 0.1}`` or ``{"type": "batchnorm"}``.

    Raises:
        DashboardError: With the 1-based number of the first offending layer.
    """
    return check_layers(layers, f"The layers of a {_NAME.lower()}")


def _in_range(name: str, value: Any) -> tuple[str, bool, str]:
    """(name, whether ``value`` is in the network's range for it, what it must be) — :data:`RANGES`."""
    low, high = RANGES[name]
    if isinstance(low, int) and isinstance(high, int):
        return name, _is_int(value) and low <= value <= high, f"an int in [{low}, {high}]"
    return name, _is_real(value) and low <= value <= high, f"a float in [{low:g}, {high:g}]"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class _Output:
    """The output layer and the Keras loss a task (and loss override) implies."""

    units: int
    activation: str
    keras_loss: str


def _output_for(task: str, n_classes: int, loss: str) -> _Output:
    """Pick the output layer and loss; refuse combinations that make no sense."""
    if task not in TASKS:
        raise DashboardError(f"A neural network can do {', '.join(TASKS)}. Got task {task!r}.")
    if loss not in LOSSES:
        raise DashboardError(f"The loss of a neural network must be one of {', '.join(LOSSES)}. Got {loss!r}.")
    allowed = {
        _BINARY: ("auto", "binary_crossentropy", "categorical_crossentropy"),
        _MULTICLASS: ("auto", "categorical_crossentropy"),
        _REGRESSION: ("auto", "mse", "mae", "huber"),
    }[str(task)]
    if loss not in allowed:
        raise DashboardError(
            f"The loss {loss!r} does not fit {task}: use one of {', '.join(allowed)}.",
            hint="'auto' picks the usual loss for the task.",
        )
    if task == _REGRESSION:
        return _Output(1, "linear", "mse" if loss == "auto" else loss)
    if task == _BINARY and loss != "categorical_crossentropy":
        return _Output(1, "sigmoid", "binary_crossentropy")
    # Integer labels with sparse cross-entropy: the same loss as one-hot categorical cross-entropy.
    return _Output(max(int(n_classes), 2), "softmax", "sparse_categorical_crossentropy")


def layer_table(
    layers: Sequence[Mapping[str, Any]],
    n_features: int,
    task: str,
    n_classes: int = 2,
    l2: float = 0.0,
    loss: str = "auto",
) -> list[dict[str, Any]]:
    """Describe the network layer by layer, with output shapes and parameter counts (no Keras needed).

    Args:
        layers: Hidden layers, as for :func:`validate_layers`.
        n_features: Number of input columns after preprocessing.
        task: ``"binary classification"``, ``"multiclass classification"`` or ``"regression"``.
        n_classes: Number of classes (multiclass only).
        l2: Kernel L2 factor, shown in the dense layers' settings.
        loss: Loss override; ``"categorical_crossentropy"`` for a binary task gives a 2-unit softmax output.

    Returns:
        One dict per row (input, hidden layers, output) with keys ``layer``, ``type``, ``settings``,
        ``output shape`` and ``parameters``.
    """
    clean = validate_layers(layers)
    output = _output_for(task, n_classes, loss)
    reg = f", L2 {l2:g}" if l2 else ""
    width = int(n_features)
    rows = [_row("Input", "input", f"{width} features", width, 0)]
    counters = dict.fromkeys(LAYER_TYPES, 0)
    for layer in clean:
        kind = layer["type"]
        counters[kind] += 1
        if kind == "dense":
            params = (width + 1) * layer["units"]
            width = layer["units"]
            settings = f"{width} units, {layer['activation']}{reg}"
            rows.append(_row(f"Dense {counters[kind]}", kind, settings, width, params))
        elif kind == "dropout":
            settings = f"rate {layer['rate']:g} (drops inputs while training only)"
            rows.append(_row(f"Dropout {counters[kind]}", kind, settings, width, 0))
        else:
            settings = (
                f"normalises {width} values: {2 * width} trainable + {2 * width} non-trainable (moving mean, variance)"
            )
            rows.append(_row(f"BatchNorm {counters[kind]}", kind, settings, width, 4 * width))
    purpose = {
        "sigmoid": "probability of the positive class",
        "softmax": "one probability per class",
        "linear": "the predicted number",
    }[output.activation]
    unit_word = "unit" if output.units == 1 else "units"
    settings = f"{output.units} {unit_word}, {output.activation} ({purpose}){reg}"
    rows.append(_row("Output", "dense", settings, output.units, (width + 1) * output.units))
    return rows


def _row(layer: str, kind: str, settings: str, width: int, params: int) -> dict[str, Any]:
    return {
        "layer": layer,
        "type": kind,
        "settings": settings,
        "output shape": f"(None, {width})",
        "parameters": params,
    }


def count_parameters(
    layers: Sequence[Mapping[str, Any]], n_features: int, task: str, n_classes: int = 2, loss: str = "auto"
) -> int:
    """Total parameters (trainable and not) of the network :func:`layer_table` describes."""
    return sum(row["parameters"] for row in layer_table(layers, n_features, task, n_classes, loss=loss))


# --------------------------------------------------------------------------------------------
# Progress: epoch bookkeeping (pure) and its Keras callback adapter (created lazily)
# --------------------------------------------------------------------------------------------


@dataclass
class _Progress:
    """What happens at each epoch end: history, events, early stopping, Stop, best weights."""

    model_name: str
    epochs: int
    monitor: str
    patience: int | None  # None: no early stopping
    keep_best: bool
    listener: Listener = ignore
    should_stop: Callable[[], bool] | None = None
    mae_scale: float = 1.0  # regression: report MAE in the target's own units
    history: dict[str, list[float]] = field(default_factory=dict)
    best: float = math.inf
    best_epoch: int = 0
    best_weights: list[Any] | None = None
    epochs_run: int = 0
    wait: int = 0
    reason: str = "completed"

    def epoch_end(self, epoch: int, logs: Mapping[str, Any] | None, model: Any) -> bool:
        """Record one epoch (0-based ``epoch`` as Keras counts) and return True when training should stop."""
        metrics = {key: float(value) for key, value in (logs or {}).items()}
        for key in ("mae", "val_mae"):
            if key in metrics:
                metrics[key] *= self.mae_scale
        self.epochs_run = epoch + 1
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(value)
        value = metrics.get(self.monitor, math.nan)
        improved = value < self.best  # NaN never improves
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            # Kept even without keep_best: a diverged network falls back to it.
            self.best_weights = model.get_weights()
        else:
            self.wait += 1
        self.listener(EpochEnded(model=self.model_name, epoch=epoch + 1, epochs=self.epochs, metrics=metrics))
        if not math.isfinite(metrics.get("loss", math.nan)):
            self.reason = "diverged"
        elif self.patience is not None and not improved and self.wait >= max(self.patience, 1):
            self.reason = "early stopping"
        elif self.should_stop is not None and self.should_stop():
            self.reason = "stopped"
        else:
            return False
        model.stop_training = True
        return True

    def finish(self, model: Any) -> None:
        """Put the best weights back when asked to, and always after the loss diverged."""
        if self.best_epoch == 0:
            raise DashboardError(
                f"The {self.model_name} did not learn: its {self.monitor.replace('_', ' ')} was never a number.",
                hint="Lower the learning rate, or scale the input columns.",
            )
        wanted = self.keep_best or self.reason == "diverged"
        if wanted and self.best_weights is not None and self.best_epoch != self.epochs_run:
            model.set_weights(self.best_weights)


@functools.cache
def _keras_callback_class() -> type:
    """The Keras ``Callback`` subclass, created on first use so importing this module needs no Keras."""
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        """Forwards each epoch's logs to a :class:`_Progress` (cheap: no drawing here)."""

        def __init__(self, progress: _Progress) -> None:
            super().__init__()
            self.progress = progress

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.progress.epoch_end(epoch, logs, self.model)

    return ProgressCallback


def _validation_input(keras: Any, validation: tuple[np.ndarray, np.ndarray] | None) -> Any:
    """Validation data as a cached ``tf.data`` set: Keras rebuilds its NumPy adapter every epoch,
    which cost about a third of each epoch on small tables here."""
    if validation is None or keras.backend.backend() != "tensorflow":
        return validation
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(validation).batch(PREDICT_CHUNK).cache()


@dataclass(frozen=True)
class _TrainingInput:
    """What ``model.fit`` gets for the training rows."""

    data: Any
    y: Any
    weight: Any
    batch_size: int | None
    shuffle: bool
    steps_per_epoch: int | None = None


def _training_input(
    keras: Any, X: Any, y: np.ndarray, weight: np.ndarray | None, batch_size: int, seed: int, epochs: int
) -> _TrainingInput:
    """Training rows in a new order every epoch, drawn from this network's seed alone.

    With TensorFlow, a ``tf.data`` set whose order for epoch ``e`` is a *stateless* shuffle
    seeded by ``(seed, e)``: the same for the same seed whatever any other code in the process
    seeds (Keras' own ``shuffle=True``, and even a seeded ``Dataset.shuffle``, draw on the
    process-wide seed that other sessions' networks would share).
    """
    if keras.backend.backend() != "tensorflow" or sp.issparse(X):
        return _TrainingInput(X, y, weight, batch_size, True)
    import tensorflow as tf

    n = len(y)
    tensors = tuple(tf.constant(part) for part in ((X, y) if weight is None else (X, y, weight)))

    def epoch(number):
        seeds = tf.stack([tf.constant(seed, tf.int64), tf.cast(number, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seeds)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    data = (
        tf.data.Dataset.range(epochs)
        .flat_map(epoch)
        .map(lambda rows: tuple(tf.gather(t, rows) for t in tensors), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(2)
    )
    return _TrainingInput(data, None, None, None, False, steps_per_epoch=math.ceil(n / batch_size))


_determinism_lock = threading.Lock()
_determinism_on = False


def _enable_determinism() -> None:
    """Ask TensorFlow for deterministic ops, once per process (it is a process-wide switch)."""
    global _determinism_on
    with _determinism_lock:
        if _determinism_on:
            return
        try:
            import tensorflow as tf
        except ImportError:  # another Keras backend: seeding alone has to do
            return
        tf.config.experimental.enable_op_determinism()
        _determinism_on = True


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------


class KerasNetwork(BaseEstimator):
    """A feed-forward Keras network for tabular data, usable as a scikit-learn classifier or regressor.

    The task decides the output layer and loss (binary: 1 sigmoid unit and binary cross-entropy;
    multiclass: softmax and categorical cross-entropy on integer-encoded labels; regression: 1 linear
    unit and MSE on a standardised target). Classifiers predict the original labels and expose
    ``classes_`` and ``predict_proba``.

    Args:
        layers: Hidden layers (see :func:`validate_layers`); the output layer is added from the task.
        task: ``"binary classification"``, ``"multiclass classification"`` or ``"regression"``.
        optimizer: ``"adam"``, ``"sgd"`` or ``"rmsprop"``.
        learning_rate: Step size of the optimizer.
        momentum: Momentum for ``"sgd"`` (ignored by the others).
        batch_size: Rows per gradient step.
        epochs: Most passes over the training data.
        early_stopping: Stop once the monitored loss (``val_loss`` with validation data, else ``loss``)
            has not improved for ``patience`` epochs.
        patience: Epochs in a row without improvement after which early stopping ends training
            (0 behaves as 1).
        restore_best_weights: Keep the weights of the best epoch (``best_epoch_``) whenever training ends,
            whether it ran all epochs, stopped early, or the person pressed Stop.
        l2: Kernel L2 regularisation factor on every dense layer, output included.
        loss: ``"auto"`` or an override that fits the task.
        seed: Seeds weights, dropout and shuffling; the same seed gives the same network.
        class_weight: ``None`` or ``"balanced"`` (classification only).
        verbose: Keras's own console output (0 silent).

    Attributes:
        model_: The fitted ``keras.Model``.
        classes_: Original class labels (classification).
        y_mean_, y_std_: Target mean and standard deviation used to standardise it (regression).
        history_: Per-epoch metrics, e.g. ``loss``, ``accuracy``, ``auc`` (binary), ``mae`` (regression,
            in the target's units; ``loss`` stays in standardised units), and ``val_``-prefixed twins.
        best_epoch_: 1-based epoch with the best monitored loss.
        stopped_epoch_: Epochs actually run.
        stopped_early_: Whether fewer than ``epochs`` ran.
        stop_reason_: ``"completed"``, ``"early stopping"``, ``"stopped"`` (should_stop) or ``"diverged"``.
        n_features_in_: Number of input columns.
    """

    def __init__(
        self,
        layers: Sequence[Mapping[str, Any]] = DEFAULT_LAYERS,
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
        self.layers = layers
        self.task = task
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.l2 = l2
        self.loss = loss
        self.seed = seed
        self.class_weight = class_weight
        self.verbose = verbose

    # -- what scikit-learn sees ----------------------------------------------------------------

    def _is_classifier(self) -> bool:
        return self.task != _REGRESSION

    @property
    def _estimator_type(self) -> str:
        return "classifier" if self._is_classifier() else "regressor"

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        if self._is_classifier():
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    # -- fitting -------------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        validation_data: tuple[Any, Any] | None = None,
        listener: Listener | None = None,
        should_stop: Callable[[], bool] | None = None,
        model_name: str = _NAME,
    ) -> KerasNetwork:
        """Train the network.

        Args:
            X: Numeric features, dense or scipy sparse (densified to float32).
            y: Targets: any labels for classification, numbers for regression.
            validation_data: ``(X_val, y_val)`` already transformed like ``X``; monitored for early stopping.
            listener: Receives one :class:`core.events.EpochEnded` per epoch.
            should_stop: Called after each epoch; returning True ends training (best weights kept).
            model_name: Name carried by the events.

        Returns:
            self.

        Raises:
            DashboardError: For settings or data the network cannot use.
        """
        layers = self._check_params()
        X = self._check_X(X, reset=True)
        y_fit, n_classes = self._encode_y(y, fitting=True)
        if len(y_fit) != X.shape[0]:
            raise DashboardError(f"The features have {X.shape[0]} rows but the target has {len(y_fit)}.")
        validation = None
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = self._check_X(X_val, reset=False)
            validation = (X_val, self._encode_y(y_val, fitting=False)[0])
        output = _output_for(self.task, n_classes, self.loss)

        import keras

        _enable_determinism()
        # Seeds go to each initializer, dropout layer and the shuffling below, never to Keras'
        # process-wide generator: networks training at once (other sessions) cannot reseed this one.
        model = self._build(keras, layers, X.shape[1], output)
        model.compile(
            optimizer=self._make_optimizer(keras),
            loss=output.keras_loss,
            metrics=self._metrics(keras, output),
            jit_compile=False,  # XLA compiles per batch shape: slower for small tabular fits
        )
        progress = _Progress(
            model_name=model_name,
            epochs=int(self.epochs),
            monitor="val_loss" if validation is not None else "loss",
            patience=int(self.patience) if self.early_stopping else None,
            keep_best=bool(self.restore_best_weights),
            listener=listener or ignore,
            should_stop=should_stop,
            mae_scale=self.y_std_ if self.task == _REGRESSION else 1.0,
        )
        train = _training_input(
            keras,
            X,
            y_fit,
            self._sample_weight(y_fit, n_classes),
            int(self.batch_size),
            int(self.seed),
            int(self.epochs),
        )
        model.fit(
            train.data,
            train.y,
            batch_size=train.batch_size,
            steps_per_epoch=train.steps_per_epoch,
            epochs=int(self.epochs),
            validation_data=_validation_input(keras, validation),
            sample_weight=train.weight,
            callbacks=[_keras_callback_class()(progress)],
            shuffle=train.shuffle,
            verbose=self.verbose,
        )
        progress.finish(model)
        self.model_ = model
        self.history_ = progress.history
        self.best_epoch_ = progress.best_epoch
        self.stopped_epoch_ = progress.epochs_run
        self.stopped_early_ = progress.epochs_run < int(self.epochs)
        self.stop_reason_ = progress.reason
        return self

    def _check_params(self) -> tuple[dict[str, Any], ...]:
        def refuse(name: str, expected: str) -> DashboardError:
            value = getattr(self, name)
            return DashboardError(f"The {name!r} parameter of {_NAME} must be {expected}. Got {value!r}.")

        checks: list[tuple[str, bool, str]] = [
            ("task", self.task in TASKS, f"one of {', '.join(TASKS)}"),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
            *(_in_range(name, getattr(self, name)) for name in ("learning_rate", "momentum", "batch_size", "epochs")),
            ("early_stopping", isinstance(self.early_stopping, bool | np.bool_), "True or False"),
            _in_range("patience", self.patience),
            ("restore_best_weights", isinstance(self.restore_best_weights, bool | np.bool_), "True or False"),
            _in_range("l2", self.l2),
            ("loss", self.loss in LOSSES, f"one of {', '.join(LOSSES)}"),
            ("seed", _is_int(self.seed) and 0 <= self.seed < 2**32, "an int in [0, 2**32)"),
            ("class_weight", self.class_weight in (None, "balanced"), "None or 'balanced'"),
            ("verbose", self.verbose in (0, 1, 2), "0, 1 or 2"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise refuse(name, expected)
        if self.class_weight is not None and not self._is_classifier():
            raise DashboardError("class_weight='balanced' only applies to classification, not regression.")
        return validate_layers(self.layers)

    def _check_X(self, X: Any, *, reset: bool) -> Any:
        try:
            X = validate_data(
                self, X, reset=reset, accept_sparse=("csr", "csc", "coo"), dtype=np.float32, ensure_all_finite=False
            )
        except ValueError as err:
            if not reset:
                raise
            raise DashboardError(
                f"The {_NAME} needs numeric input columns: {err}", hint="Encode text columns first."
            ) from err
        values = X.data if sp.issparse(X) else X
        if not np.isfinite(values).all():
            raise DashboardError(
                f"The {_NAME} needs a number in every cell, but the input has missing or infinite values.",
                hint="Add a step that fills in missing values.",
            )
        if sp.issparse(X):
            if X.shape[0] * X.shape[1] * 4 > MAX_DENSE_BYTES:
                raise DashboardError(
                    f"The input is too wide for a {_NAME}: {X.shape[0]} rows × {X.shape[1]} columns would "
                    f"need more than {MAX_DENSE_BYTES // 1024**3} GB of memory.",
                    hint="Reduce the number of text or category columns.",
                )
            X = X.toarray()
        return np.ascontiguousarray(X, dtype=np.float32)

    def _encode_y(self, y: Any, *, fitting: bool) -> tuple[np.ndarray, int]:
        """Integer class codes (classification) or the standardised target (regression)."""
        y = column_or_1d(np.asarray(y), warn=True)
        if self.task == _REGRESSION:
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise DashboardError(f"Regression needs a numeric target. {err}") from err
            if not np.isfinite(y).all():
                raise DashboardError("The regression target has missing or infinite values.")
            if fitting:
                std = float(np.std(y))
                self.y_mean_ = float(np.mean(y))
                self.y_std_ = std if std > 0 and math.isfinite(std) else 1.0
            return ((y - self.y_mean_) / self.y_std_).astype(np.float32), 1
        if fitting:
            try:
                classes, codes = np.unique(y, return_inverse=True)
            except TypeError as err:
                raise DashboardError(f"The class labels cannot be compared (mixed or missing values?): {err}") from err
            expected = "exactly 2" if self.task == _BINARY else "at least 2"
            if len(classes) < 2 or (self.task == _BINARY and len(classes) != 2):
                raise DashboardError(f"{self.task.capitalize()} needs {expected} classes. Got {len(classes)}.")
            self.classes_ = classes
            return codes.astype(np.int32), len(classes)
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise DashboardError(
                f"The validation target has labels the training target lacks, e.g. {y[unseen][0]!r}.",
                hint="Use a stratified split.",
            )
        return codes.astype(np.int32), len(self.classes_)

    def _sample_weight(self, codes: np.ndarray, n_classes: int) -> np.ndarray | None:
        if self.class_weight != "balanced":
            return None
        weights = compute_class_weight("balanced", classes=np.arange(n_classes), y=codes)
        return weights[codes].astype(np.float32)

    def _build(self, keras: Any, layers: tuple[dict[str, Any], ...], n_features: int, output: _Output) -> Any:
        def regulariser() -> Any:
            return keras.regularizers.L2(self.l2) if self.l2 else None

        inputs = keras.Input(shape=(n_features,), name="input")
        x = inputs
        counters = dict.fromkeys(LAYER_TYPES, 0)
        for number, layer in enumerate(layers, start=1):
            kind = layer["type"]
            counters[kind] += 1
            name = f"{kind}_{counters[kind]}"
            if kind == "dense":
                x = keras.layers.Dense(
                    layer["units"],
                    activation=layer["activation"],
                    kernel_regularizer=regulariser(),
                    kernel_initializer=keras.initializers.GlorotUniform(seed=self._layer_seed(number)),
                    name=name,
                )(x)
            elif kind == "dropout":
                x = keras.layers.Dropout(layer["rate"], seed=self._layer_seed(number), name=name)(x)
            else:
                x = keras.layers.BatchNormalization(name=name)(x)
        outputs = keras.layers.Dense(
            output.units,
            activation=output.activation,
            kernel_regularizer=regulariser(),
            kernel_initializer=keras.initializers.GlorotUniform(seed=self._layer_seed(len(layers) + 1)),
            name="output",
        )(x)
        return keras.Model(inputs, outputs, name="network")

    def _layer_seed(self, number: int) -> int:
        """The seed of layer ``number`` (1-based), derived from the network's own seed."""
        return (int(self.seed) * 1_009 + number) % 2**31

    def _make_optimizer(self, keras: Any) -> Any:
        rate = float(self.learning_rate)
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(learning_rate=rate, momentum=float(self.momentum))
        if self.optimizer == "rmsprop":
            return keras.optimizers.RMSprop(learning_rate=rate)
        return keras.optimizers.Adam(learning_rate=rate)

    def _metrics(self, keras: Any, output: _Output) -> list[Any]:
        if self.task == _REGRESSION:
            return [keras.metrics.MeanAbsoluteError(name="mae")]
        if output.activation == "sigmoid":
            return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.task == _BINARY:  # 2-unit softmax: AUC of the positive class's column
            metrics.append(_positive_class_auc()(name="auc"))
        return metrics

    # -- predicting ----------------------------------------------------------------------------

    def _forward(self, X: Any) -> np.ndarray:
        """Raw network outputs, in chunks through ``predict_on_batch`` (``model.predict`` is slow on small inputs)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, accept_sparse=("csr",), dtype=np.float32, ensure_all_finite=False)
        chunks = []
        for start in range(0, X.shape[0], PREDICT_CHUNK):
            chunk = X[start : start + PREDICT_CHUNK]
            chunk = chunk.toarray() if sp.issparse(chunk) else chunk
            chunks.append(np.asarray(self.model_.predict_on_batch(np.ascontiguousarray(chunk))))
        return np.concatenate(chunks).astype(np.float64)

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_rows, n_classes)``, columns in ``classes_`` order, rows summing to 1."""
        out = self._forward(X)
        if out.shape[1] == 1:
            p = np.clip(out[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - p, p])
        out = np.clip(out, 0.0, None)
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Original class labels (classification) or numbers in the target's units (regression)."""
        if self._is_classifier():
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._forward(X)[:, 0] * self.y_std_ + self.y_mean_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classification, R² for regression (as scikit-learn's mixins)."""
        from sklearn.metrics import accuracy_score, r2_score

        metric = accuracy_score if self._is_classifier() else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))


@functools.cache
def _positive_class_auc() -> type:
    """AUC on the second softmax column, for a binary task trained with categorical cross-entropy."""
    import keras

    class PositiveClassAUC(keras.metrics.AUC):
        def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
            return super().update_state(y_true, y_pred[:, 1:2], sample_weight=sample_weight)

    return PositiveClassAUC
