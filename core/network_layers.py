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
    output = output_for(task, n_classes, loss)
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
