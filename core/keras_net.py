"""A Keras network with the scikit-learn estimator contract.

:class:`KerasNetwork` is a plain scikit-learn estimator (constructor stores arguments, ``fit``
does the work, learned state ends in ``_``), so it sits at the end of a ``Pipeline`` like any
other model. It reports progress as :class:`core.events.EpochEnded` events, honours a
``should_stop()`` callable, and keeps the best weights when training ends early.

Importing this module loads neither TensorFlow nor Keras: they are imported inside ``fit`` (about
2.5 s and 700 MB), so the app starts fast. The layer arithmetic the forms show before anything is
trained (:func:`~core.network_layers.layer_table`, :func:`~core.network_layers.count_parameters`,
:func:`~core.network_layers.validate_layers`) is :mod:`core.network_layers`, which never needs Keras.

Validation data passed to ``fit`` must already be in the network's input space: inside a
``Pipeline``, the training code transforms the validation split with the fitted preprocessing
steps (``pipeline[:-1].transform(X_val)``) before handing it over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags, Tags
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from core.errors import DashboardError
from core.events import Listener, ignore
from core.keras_fit import (
    PREDICT_CHUNK,
    Progress,
    TrainingInput,
    enable_determinism,
    keras_callback_class,
    positive_class_auc,
    training_input,
    validation_input,
)
from core.network_layers import (
    BINARY,
    DEFAULT_LAYERS,
    LOSSES,
    NAME,
    OPTIMIZERS,
    REGRESSION,
    TASKS,
    Output,
    in_range,
    is_int,
    output_for,
    validate_layers,
)
from core.network_rules import LAYER_TYPES

#: Largest dense copy of a sparse input the network will make (float32 bytes).
MAX_DENSE_BYTES = 2 * 1024**3


class NetworkInputError(DashboardError, ValueError):
    """Settings or data a :class:`KerasNetwork` cannot use.

    A :class:`~core.errors.DashboardError`, so the app shows its plain message, and a ``ValueError``,
    as scikit-learn expects of an estimator refusing its input.
    """


def _refuse_gaps(X: Any) -> None:
    """Refuse input with a missing or infinite value (dense or sparse)."""
    values = X.data if sp.issparse(X) else X
    if not np.isfinite(values).all():
        raise NetworkInputError(
            f"The {NAME} needs a number in every cell, but the input has missing or infinite values.",
            hint="Add a step that fills in missing values.",
        )


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
        return self.task != REGRESSION

    @property
    def _estimator_type(self) -> str:
        return "classifier" if self._is_classifier() else "regressor"

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        if self._is_classifier():
            tags.estimator_type = "classifier"
            # A binary network refuses a third class (its output layer is one sigmoid unit).
            tags.classifier_tags = ClassifierTags(multi_class=self.task != BINARY)
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
        model_name: str | None = None,
    ) -> Self:
        """Train the network.

        The steps that depend on what the network reads are methods a subclass overrides
        (:meth:`_training_rows`, :meth:`_build`, :meth:`_validation_rows`, :meth:`_training_input`);
        the rest (targets, output layer, compiling, epoch events, Stop, early stopping, best weights)
        is this method's, for every network.

        Args:
            X: Numeric features, dense or scipy sparse (densified to float32).
            y: Targets: any labels for classification, numbers for regression.
            validation_data: ``(X_val, y_val)`` already transformed like ``X``; monitored for early stopping.
            listener: Receives one :class:`core.events.EpochEnded` per epoch.
            should_stop: Called after each epoch; returning True ends training (best weights kept).
            model_name: Name carried by the events (by default the network's own).

        Returns:
            self.

        Raises:
            DashboardError: For settings or data the network cannot use.
        """
        layers = self._check_params()
        rows, n_rows = self._training_rows(X)
        y_fit, n_classes = self._encode_y(y, fitting=True)
        if len(y_fit) != n_rows:
            raise NetworkInputError(f"The features have {n_rows} rows but the target has {len(y_fit)}.")
        try:
            output = output_for(self.task, n_classes, self.loss)
        except DashboardError as err:  # a loss that does not fit the task: a setting, refused as a ValueError
            raise NetworkInputError(err.user_message) from err

        import keras

        enable_determinism()
        # Seeds go to each initializer, dropout layer and the shuffling below, never to Keras'
        # process-wide generator: networks training at once (other sessions) cannot reseed this one.
        model = self._build(keras, layers, rows, output)
        validation = None
        if validation_data is not None:
            X_val, y_val = validation_data
            validation = (self._validation_rows(X_val), self._encode_y(y_val, fitting=False)[0])
        model.compile(
            optimizer=self._make_optimizer(keras),
            loss=output.keras_loss,
            metrics=self._metrics(keras, output),
            jit_compile=False,  # XLA compiles per batch shape: slower for small tabular fits
        )
        progress = Progress(
            model_name=self._display_name if model_name is None else model_name,
            epochs=int(self.epochs),
            monitor="val_loss" if validation is not None else "loss",
            patience=int(self.patience) if self.early_stopping else None,
            keep_best=bool(self.restore_best_weights),
            listener=listener or ignore,
            should_stop=should_stop,
            mae_scale=self.y_std_ if self.task == REGRESSION else 1.0,
        )
        train = self._training_input(keras, rows, y_fit, self._sample_weight(y_fit, n_classes))
        model.fit(
            train.data,
            train.y,
            batch_size=train.batch_size,
            steps_per_epoch=train.steps_per_epoch,
            epochs=int(self.epochs),
            validation_data=validation_input(keras, validation),
            sample_weight=train.weight,
            callbacks=[keras_callback_class()(progress)],
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

    # -- what a subclass reading other input overrides -----------------------------------------

    #: The name the epoch events carry when ``fit`` is given none.
    _display_name = NAME

    def _training_rows(self, X: Any) -> tuple[Any, int]:
        """The training rows as :meth:`_build` and :meth:`_training_input` take them, and how many there are;
        learns what the input looks like (``n_features_in_``)."""
        X = self._check_X(X, reset=True)
        return X, X.shape[0]

    def _validation_rows(self, X: Any) -> Any:
        """The validation rows as the model reads them (after :meth:`_build`)."""
        return self._check_X(X, reset=False)

    def _training_input(self, keras: Any, rows: Any, y: np.ndarray, weight: np.ndarray | None) -> TrainingInput:
        """What ``model.fit`` gets: the rows in a new seeded order every epoch (:func:`core.keras_fit.training_input`)."""
        return training_input(keras, rows, y, weight, int(self.batch_size), int(self.seed), int(self.epochs))

    def _check_params(self) -> tuple[dict[str, Any], ...]:
        def refuse(name: str, expected: str) -> NetworkInputError:
            value = getattr(self, name)
            return NetworkInputError(f"The {name!r} parameter of {NAME} must be {expected}. Got {value!r}.")

        checks: list[tuple[str, bool, str]] = [
            ("task", self.task in TASKS, f"one of {', '.join(TASKS)}"),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
            *(in_range(name, getattr(self, name)) for name in ("learning_rate", "momentum", "batch_size", "epochs")),
            ("early_stopping", isinstance(self.early_stopping, bool | np.bool_), "True or False"),
            in_range("patience", self.patience),
            ("restore_best_weights", isinstance(self.restore_best_weights, bool | np.bool_), "True or False"),
            in_range("l2", self.l2),
            ("loss", self.loss in LOSSES, f"one of {', '.join(LOSSES)}"),
            ("seed", is_int(self.seed) and 0 <= self.seed < 2**32, "an int in [0, 2**32)"),
            ("class_weight", self.class_weight in (None, "balanced"), "None or 'balanced'"),
            ("verbose", self.verbose in (0, 1, 2), "0, 1 or 2"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise refuse(name, expected)
        if self.class_weight is not None and not self._is_classifier():
            raise NetworkInputError("class_weight='balanced' only applies to classification, not regression.")
        try:
            return self._validated_layers()
        except DashboardError as err:
            raise NetworkInputError(err.user_message) from err

    def _validated_layers(self) -> tuple[dict[str, Any], ...]:
        """The hidden layers, checked and normalised (a sequence network checks its own kinds)."""
        return validate_layers(self.layers)

    def _check_X(self, X: Any, *, reset: bool) -> Any:
        try:
            X = validate_data(
                self, X, reset=reset, accept_sparse=("csr", "csc", "coo"), dtype=np.float32, ensure_all_finite=False
            )
        except ValueError as err:
            if not reset:
                raise
            raise NetworkInputError(
                f"The {NAME} needs numeric input columns: {err}", hint="Encode text columns first."
            ) from err
        _refuse_gaps(X)
        if sp.issparse(X):
            if X.shape[0] * X.shape[1] * 4 > MAX_DENSE_BYTES:
                raise NetworkInputError(
                    f"The input is too wide for a {NAME}: {X.shape[0]} rows × {X.shape[1]} columns would "
                    f"need more than {MAX_DENSE_BYTES // 1024**3} GB of memory.",
                    hint="Reduce the number of text or category columns.",
                )
            X = X.toarray()
        return np.ascontiguousarray(X, dtype=np.float32)

    def _encode_y(self, y: Any, *, fitting: bool) -> tuple[np.ndarray, int]:
        """Integer class codes (classification) or the standardised target (regression)."""
        y = column_or_1d(np.asarray(y), warn=True)
        if self.task == REGRESSION:
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise NetworkInputError(f"Regression needs a numeric target. {err}") from err
            if not np.isfinite(y).all():
                raise NetworkInputError("The regression target has missing or infinite values.")
            if fitting:
                std = float(np.std(y))
                self.y_mean_ = float(np.mean(y))
                self.y_std_ = std if std > 0 and math.isfinite(std) else 1.0
            return ((y - self.y_mean_) / self.y_std_).astype(np.float32), 1
        if fitting:
            if y.dtype.kind in "fc" and not np.isfinite(y).all():
                raise NetworkInputError("The class labels have missing or infinite values.")
            try:
                classes, codes = np.unique(y, return_inverse=True)
            except TypeError as err:
                raise NetworkInputError(
                    f"The class labels cannot be compared (mixed or missing values?): {err}"
                ) from err
            if len(classes) < 2 or (self.task == BINARY and len(classes) != 2):
                expected = "exactly 2" if self.task == BINARY else "at least 2"
                got = f"{len(classes)} class" + ("es" if len(classes) != 1 else "")
                raise NetworkInputError(
                    f"{self.task.capitalize()} needs {expected} classes. Got {got}.",
                    hint=(
                        "Only binary classification is supported with this task; choose multiclass classification."
                        if self.task == BINARY and len(classes) > 2
                        else None
                    ),
                )
            self.classes_ = classes
            return codes.astype(np.int32), len(classes)
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise NetworkInputError(
                f"The validation target has labels the training target lacks, e.g. {y[unseen][0]!r}.",
                hint="Use a stratified split.",
            )
        return codes.astype(np.int32), len(self.classes_)

    def _sample_weight(self, codes: np.ndarray, n_classes: int) -> np.ndarray | None:
        if self.class_weight != "balanced":
            return None
        weights = compute_class_weight("balanced", classes=np.arange(n_classes), y=codes)
        return weights[codes].astype(np.float32)

    def _build(self, keras: Any, layers: tuple[dict[str, Any], ...], rows: Any, output: Output) -> Any:
        """The Keras model for these training rows: its layers, and the output layer the task needs."""

        def regulariser() -> Any:
            return keras.regularizers.L2(self.l2) if self.l2 else None

        inputs = keras.Input(shape=(rows.shape[1],), name="input")
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

    def _metrics(self, keras: Any, output: Output) -> list[Any]:
        if self.task == REGRESSION:
            return [keras.metrics.MeanAbsoluteError(name="mae")]
        if output.activation == "sigmoid":
            return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.task == BINARY:  # 2-unit softmax: AUC of the positive class's column
            metrics.append(positive_class_auc()(name="auc"))
        return metrics

    # -- predicting ----------------------------------------------------------------------------

    def _forward(self, X: Any) -> np.ndarray:
        """Raw network outputs, in chunks through ``predict_on_batch`` (``model.predict`` is slow on small inputs)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, accept_sparse=("csr",), dtype=np.float32, ensure_all_finite=False)
        _refuse_gaps(X)
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
        check_is_fitted(self, "model_")
        if self._is_classifier():
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._forward(X)[:, 0] * self.y_std_ + self.y_mean_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classification, R² for regression (as scikit-learn's mixins)."""
        from sklearn.metrics import accuracy_score, r2_score

        metric = accuracy_score if self._is_classifier() else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))
