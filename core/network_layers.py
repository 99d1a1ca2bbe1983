"""A neural network's layers without Keras: validation, output layer, shapes and parameter counts.

:class:`core.keras_net.KerasNetwork` builds the network these functions describe; the Models
page draws its layer table from them before anything is trained, so the app shows the network's
size without importing TensorFlow. The ranges and refusals themselves are :mod:`core.network_rules`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import DashboardError
from core.network_rules import LAYER_TYPES, RANGES, SEQUENCE_LAYER_TYPES, check_layers

#: The hidden layers a new network starts with.
DEFAULT_LAYERS: tuple[dict[str, Any], ...] = (
    {"type": "dense", "units": 64, "activation": "relu"},
    {"type": "dropout", "rate": 0.1},
    {"type": "dense", "units": 32, "activation": "relu"},
)
TASKS: tuple[str, ...] = ("binary classification", "multiclass classification", "regression")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop")
LOSSES: tuple[str, ...] = ("auto", "binary_crossentropy", "categorical_crossentropy", "mse", "mae", "huber")
BINARY, MULTICLASS, REGRESSION = TASKS
NAME = "Neural network"


def validate_layers(layers: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Check a list of hidden-layer settings and return it normalised (:func:`core.network_rules.check_layers`).

    Args:
        layers: Dicts such as ``{"type": "dense", "units": 64, "activation": "relu"}``,
            ``{"type": "dropout", "rate": 0.1}`` or ``{"type": "batchnorm"}``.

    Raises:
        DashboardError: With the 1-based number of the first offending layer.
    """
    return check_layers(layers, f"The layers of a {NAME.lower()}")


def in_range(name: str, value: Any) -> tuple[str, bool, str]:
    """(name, whether ``value`` is in the network's range for it, what it must be) — :data:`RANGES`."""
    low, high = RANGES[name]
    if isinstance(low, int) and isinstance(high, int):
        return name, is_int(value) and low <= value <= high, f"an int in [{low}, {high}]"
    return name, is_real(value) and low <= value <= high, f"a float in [{low:g}, {high:g}]"


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Output:
    """The output layer and the Keras loss a task (and loss override) implies."""

    units: int
    activation: str
    keras_loss: str


def output_for(task: str, n_classes: int, loss: str) -> Output:
    """Pick the output layer and loss; refuse combinations that make no sense."""
    if task not in TASKS:
        raise DashboardError(f"A neural network can do {', '.join(TASKS)}. Got task {task!r}.")
    if loss not in LOSSES:
        raise DashboardError(f"The loss of a neural network must be one of {', '.join(LOSSES)}. Got {loss!r}.")
    allowed = {
        BINARY: ("auto", "binary_crossentropy", "categorical_crossentropy"),
        MULTICLASS: ("auto", "categorical_crossentropy"),
        REGRESSION: ("auto", "mse", "mae", "huber"),
    }[str(task)]
    if loss not in allowed:
        raise DashboardError(
            f"The loss {loss!r} does not fit {task}: use one of {', '.join(allowed)}.",
            hint="'auto' picks the usual loss for the task.",
        )
    if task == REGRESSION:
        return Output(1, "linear", "mse" if loss == "auto" else loss)
    if task == BINARY and loss != "categorical_crossentropy":
        return Output(1, "sigmoid", "binary_crossentropy")
    # Integer labels with sparse cross-entropy: the same loss as one-hot categorical cross-entropy.
    return Output(max(int(n_classes), 2), "softmax", "sparse_categorical_crossentropy")


def layer_table(
    layers: Sequence[Mapping[str, Any]],
    n_features: int,
    task: str,
    n_classes: int = 2,
    l2: float = 0.0,
    loss: str = "auto",
    window: int | None = None,
) -> list[dict[str, Any]]:
    """Describe the network layer by layer, with output shapes and parameter counts (no Keras needed).

    Args:
        layers: Hidden layers, as for :func:`validate_layers`.
        n_features: Number of input columns after preprocessing.
        task: ``"binary classification"``, ``"multiclass classification"`` or ``"regression"``.
        n_classes: Number of classes (multiclass only).
        l2: Kernel L2 factor, shown in the dense layers' settings.
        loss: Loss override; ``"categorical_crossentropy"`` for a binary task gives a 2-unit softmax output.
        window: A sequence network's rows per window (:class:`core.keras_sequence.SequenceNetwork`): its input
            is ``window`` rows of ``n_features`` features plus a padding channel, read by its sequence layers.

    Returns:
        One dict per row (input, hidden layers, output) with keys ``layer``, ``type``, ``settings``,
        ``output shape`` and ``parameters``.
    """
    if window is not None:
        clean = check_layers(layers, f"The layers of a {NAME.lower()} over rows", sequence=True)
    else:
        clean = validate_layers(layers)
    output = output_for(task, n_classes, loss)
    reg = f", L2 {l2:g}" if l2 else ""
    width = int(n_features)
    rows = [_row("Input", "input", f"{width} features", width, 0)]
    counters = dict.fromkeys(LAYER_TYPES + SEQUENCE_LAYER_TYPES, 0)
    steps: int | None = None
    if window is not None:
        steps, width = int(window), width + 1
        rows = [
            _row("Input", "input", f"the last {steps} rows × ({width - 1} features + padding flag)", width, 0, steps)
        ]
    for number, layer in enumerate(clean):
        kind = layer["type"]
        counters[kind] += 1
        if steps is not None and kind == "dense":  # the window's last sequence output, flattened
            rows.append(_row("Flatten", "flatten", f"{steps} steps × {width} values in one row", steps * width, 0))
            width, steps = steps * width, None
        if kind in SEQUENCE_LAYER_TYPES:
            more = any(later["type"] in SEQUENCE_LAYER_TYPES for later in clean[number + 1 :])
            steps, width, row = _sequence_row(layer, counters[kind], steps or 1, width, more)
            rows.append(row)
        elif kind == "dense":
            params = (width + 1) * layer["units"]
            width = layer["units"]
            settings = f"{width} units, {layer['activation']}{reg}"
            rows.append(_row(f"Dense {counters[kind]}", kind, settings, width, params))
        elif kind == "dropout":
            settings = f"rate {layer['rate']:g} (drops inputs while training only)"
            rows.append(_row(f"Dropout {counters[kind]}", kind, settings, width, 0, steps))
        else:
            settings = (
                f"normalises {width} values: {2 * width} trainable + {2 * width} non-trainable (moving mean, variance)"
            )
            rows.append(_row(f"BatchNorm {counters[kind]}", kind, settings, width, 4 * width, steps))
    if steps is not None:
        rows.append(_row("Flatten", "flatten", f"{steps} steps × {width} values in one row", steps * width, 0))
        width = steps * width
    purpose = {
        "sigmoid": "probability of the positive class",
        "softmax": "one probability per class",
        "linear": "the predicted number",
    }[output.activation]
    unit_word = "unit" if output.units == 1 else "units"
    settings = f"{output.units} {unit_word}, {output.activation} ({purpose}){reg}"
    rows.append(_row("Output", "dense", settings, output.units, (width + 1) * output.units))
    return rows


def _row(layer: str, kind: str, settings: str, width: int, params: int, steps: int | None = None) -> dict[str, Any]:
    return {
        "layer": layer,
        "type": kind,
        "settings": settings,
        "output shape": f"(None, {width})" if steps is None else f"(None, {steps}, {width})",
        "parameters": params,
    }


def _sequence_row(
    layer: Mapping[str, Any], number: int, steps: int, width: int, more: bool
) -> tuple[int | None, int, dict[str, Any]]:
    """(steps after it, width after it, its row) for a sequence layer (``more``: another one follows it);
    None steps: one vector per row (an LSTM's last state)."""
    kind = layer["type"]
    if kind == "lstm":
        units = int(layer["units"])
        params = 4 * units * (width + units + 1)
        reads = "each step's state, for the next sequence layer" if more else "its state after the window's last row"
        row = _row(f"LSTM {number}", kind, f"{units} units; passes on {reads}", units, params, steps if more else None)
        return (steps if more else None), units, row
    if kind == "conv1d":
        filters, span = int(layer["filters"]), int(layer["kernel_size"])
        settings = f"{filters} filters over {span} neighbouring rows, {layer['activation']}"
        return steps, filters, _row(f"Conv1D {number}", kind, settings, filters, (span * width + 1) * filters, steps)
    size = int(layer["size"])
    after = math.ceil(steps / size)
    row = _row(f"Pool {number}", kind, f"the largest of each {size} neighbouring rows", width, 0, after)
    return after, width, row


def count_parameters(
    layers: Sequence[Mapping[str, Any]],
    n_features: int,
    task: str,
    n_classes: int = 2,
    loss: str = "auto",
    window: int | None = None,
) -> int:
    """Total parameters (trainable and not) of the network :func:`layer_table` describes."""
    return sum(row["parameters"] for row in layer_table(layers, n_features, task, n_classes, loss=loss, window=window))
