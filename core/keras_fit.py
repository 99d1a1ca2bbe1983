"""How a :class:`~core.keras_net.KerasNetwork` trains: epochs reported and stopped, inputs fed, runs repeatable.

The epoch bookkeeping (:class:`Progress`) is plain Python; its Keras callback adapter, the
training input (a ``tf.data`` pipeline over the rows, densified batch by batch when sparse) and
TensorFlow's determinism switch are created on first use, so importing this module loads neither
TensorFlow nor Keras.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.errors import DashboardError
from core.events import EpochEnded, Listener, ignore

# --------------------------------------------------------------------------------------------
# Progress: epoch bookkeeping (pure) and its Keras callback adapter (created lazily)
# --------------------------------------------------------------------------------------------

#: Rows per forward pass in predict (``predict_on_batch`` per chunk; ``model.predict`` is far slower on small inputs).
PREDICT_CHUNK = 8192


@dataclass
class Progress:
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
def keras_callback_class() -> type:
    """The Keras ``Callback`` subclass, created on first use so importing this module needs no Keras."""
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        """Forwards each epoch's logs to a :class:`Progress` (cheap: no drawing here)."""

        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.progress.epoch_end(epoch, logs, self.model)

    return ProgressCallback


def validation_input(keras: Any, validation: tuple[np.ndarray, np.ndarray] | None) -> Any:
    """Validation data as a cached ``tf.data`` set: Keras rebuilds its NumPy adapter every epoch,
    which cost about a third of each epoch on small tables here."""
    if validation is None or keras.backend.backend() != "tensorflow":
        return validation
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(validation).batch(PREDICT_CHUNK).cache()


@dataclass(frozen=True)
class TrainingInput:
    """What ``model.fit`` gets for the training rows."""

    data: Any
    y: Any
    weight: Any
    batch_size: int | None
    shuffle: bool
    steps_per_epoch: int | None = None


def training_input(
    keras: Any, X: Any, y: np.ndarray, weight: np.ndarray | None, batch_size: int, seed: int, epochs: int
) -> TrainingInput:
    """Training rows in a new order every epoch, drawn from this network's seed alone.

    ``X`` is one array, or a tuple of arrays for a network with several inputs (the text network's
    word ids and other columns). With TensorFlow, the rows go through :func:`shuffled_batches`.
    """
    if keras.backend.backend() != "tensorflow" or sp.issparse(X):
        return TrainingInput(X, y, weight, batch_size, True)
    import tensorflow as tf

    inputs = tuple(tf.constant(part) for part in (X if isinstance(X, tuple) else (X,)))

    def features(rows: Any) -> Any:
        picked = tuple(tf.gather(t, rows) for t in inputs)
        return picked if len(picked) > 1 else picked[0]

    return shuffled_batches(features, y, weight, batch_size, seed, epochs)


def shuffled_batches(
    features: Callable[[Any], Any], y: np.ndarray, weight: np.ndarray | None, batch_size: int, seed: int, epochs: int
) -> TrainingInput:
    """A ``tf.data`` set of ``epochs`` passes over the rows, each in its own order, in batches.

    The order for epoch ``e`` is a *stateless* shuffle seeded by ``(seed, e)``: the same for the
    same seed whatever any other code in the process seeds (Keras' own ``shuffle=True``, and even
    a seeded ``Dataset.shuffle``, draw on the process-wide seed that other sessions' networks
    would share). ``features`` maps a batch's row numbers to the network's input for them (the
    rows themselves, or each row's window); the targets and weights are taken alongside.
    """
    import tensorflow as tf

    n = len(y)
    targets = tuple(tf.constant(part) for part in ((y,) if weight is None else (y, weight)))

    def epoch(number):
        seeds = tf.stack([tf.constant(seed, tf.int64), tf.cast(number, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seeds)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    data = (
        tf.data.Dataset.range(epochs)
        .flat_map(epoch)
        .map(lambda rows: (features(rows), *(tf.gather(t, rows) for t in targets)), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(2)
    )
    return TrainingInput(data, None, None, None, False, steps_per_epoch=math.ceil(n / batch_size))


_determinism_lock = threading.Lock()
_determinism_on = False


def enable_determinism() -> None:
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


@functools.cache
def positive_class_auc() -> type:
    """AUC on the second softmax column, for a binary task trained with categorical cross-entropy."""
    import keras

    class PositiveClassAUC(keras.metrics.AUC):
        def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
            return super().update_state(y_true, y_pred[:, 1:2], sample_weight=sample_weight)

    return PositiveClassAUC
