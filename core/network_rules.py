"""What a Keras network may be built from, defined once: its layers and its settings' ranges.

The Models page's form (:class:`LayersParam` and the network's specs in
:mod:`core.models_catalogue.neural`), the layer table's editor and the estimator itself
(:class:`core.keras_net.KerasNetwork`) all read these, so a value the form offers is one the
estimator takes, and a value the estimator refuses is refused in the same words everywhere.
Nothing here imports scikit-learn or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.params import ParamError, ParamSpec, _num, _to_float, _to_int, show_value

LAYER_TYPES: tuple[str, ...] = ("dense", "dropout", "batchnorm")
#: Layers that read a window of rows (:class:`core.keras_sequence.SequenceNetwork` only), before any dense layer:
#: an LSTM, a 1-D convolution over neighbouring rows, max pooling of neighbouring rows.
SEQUENCE_LAYER_TYPES: tuple[str, ...] = ("lstm", "conv1d", "pool")
#: Activation functions a dense layer may use (Keras names).
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "linear", "leaky_relu")
#: The settings each layer type takes besides its ``type``.
LAYER_SETTINGS: dict[str, tuple[str, ...]] = {
    "dense": ("units", "activation"),
    "dropout": ("rate",),
    "batchnorm": (),
    "lstm": ("units",),
    "conv1d": ("filters", "kernel_size", "activation"),
    "pool": ("size",),
}
MAX_LAYERS = 20
MAX_UNITS = 4096
MAX_DROPOUT = 0.9
#: Each number setting of a network: (lowest, highest) accepted, both included.
RANGES: dict[str, tuple[float, float]] = {
    "learning_rate": (1e-5, 1.0),
    "epochs": (1, 2000),
    "batch_size": (1, 4096),
    "patience": (1, 200),
    "momentum": (0.0, 0.99),
    "l2": (0.0, 1.0),
}
#: Each number setting a text network (:class:`core.keras_text.KerasTextNetwork`) adds to :data:`RANGES`.
TEXT_RANGES: dict[str, tuple[float, float]] = {
    "vocabulary_size": (100, 50_000),
    "sequence_length": (4, 1_000),
    "embedding_dim": (2, 512),
    "filters": (1, 1_024),
    "kernel_size": (2, 15),
    "dense_units": (1, MAX_UNITS),
    "dropout": (0.0, MAX_DROPOUT),
}
#: Each number setting a sequence network (:class:`core.keras_sequence.SequenceNetwork`) adds to :data:`RANGES`,
#: and its sequence layers' settings: rows per window, convolution filters and width, rows per pooling step.
SEQUENCE_RANGES: dict[str, tuple[float, float]] = {
    "window": (2, 365),
    "filters": (1, 1_024),
    "kernel_size": (1, 30),
    "size": (2, 16),
}
#: How a text network turns a message's word vectors into one: their average, or a 1-D convolution + max pooling.
TEXT_POOLING: tuple[str, ...] = ("average", "convolution")


def check_layers(
    layers: Any, where: str = "The layers of a neural network", param: str | None = "layers", *, sequence: bool = False
) -> tuple[dict, ...]:
    """Check hidden-layer settings and return them normalised (new dicts with exactly their type's keys).

    Types and activations are read case-insensitively; a dense layer without an activation gets
    ``"relu"``; units and rates may be numbers or numeric text (a form's values). With ``sequence``
    (a network over windows of rows), :data:`SEQUENCE_LAYER_TYPES` are allowed too, at least one
    LSTM or convolution is needed and no sequence layer may follow a dense layer; without it, a dense
    layer is needed.

    Raises:
        ParamError: Naming ``where`` for the list, else the 1-based number of the first bad layer.
    """
    if isinstance(layers, Mapping | str | bytes) or not isinstance(layers, Sequence):
        raise ParamError(f"{where} must be a list of layers. Got {show_value(layers)}.", param=param)
    if len(layers) > MAX_LAYERS:
        raise ParamError(f"{where} can have at most {MAX_LAYERS} layers. Got {len(layers)}.", param=param)
    clean = tuple(_layer(number, layer, param, sequence) for number, layer in enumerate(layers, start=1))
    if not sequence:
        if not any(layer["type"] == "dense" for layer in clean):
            raise ParamError(f"{where} needs at least one dense layer.", param=param)
        return clean
    if not any(layer["type"] in ("lstm", "conv1d") for layer in clean):
        raise ParamError(
            f"{where} needs at least one 'lstm' or 'conv1d' layer: they read the window of earlier rows.", param=param
        )
    dense = next((n for n, layer in enumerate(clean, start=1) if layer["type"] == "dense"), None)
    late = next(
        (n for n, layer in enumerate(clean, start=1) if layer["type"] in SEQUENCE_LAYER_TYPES and dense and n > dense),
        None,
    )
    if late is not None:
        raise ParamError(
            f"Layer {late} ({clean[late - 1]['type']}) comes after dense layer {dense}: sequence layers "
            f"({', '.join(SEQUENCE_LAYER_TYPES)}) read the window of rows, so they come before the dense layers.",
            param=param,
        )
    return clean


def _whole(where: str, layer: Mapping, key: str, low: int, high: int, param: str | None) -> int:
    value = _to_int(layer.get(key))
    if value is None or not low <= value <= high:
        raise ParamError(
            f"{where}: {key} must be an int in [{low}, {high}]. Got {show_value(layer.get(key))}.", param=param
        )
    return value


def _activation(where: str, layer: Mapping, param: str | None) -> str:
    activation = layer.get("activation", "relu")
    activation = activation.lower() if isinstance(activation, str) else activation
    if activation not in ACTIVATIONS:
        expected = ", ".join(map(repr, ACTIVATIONS))
        raise ParamError(f"{where}: activation must be one of {expected}. Got {show_value(activation)}.", param=param)
    return activation


def _layer(number: int, layer: Any, param: str | None, sequence: bool = False) -> dict:
    if not isinstance(layer, Mapping):
        raise ParamError(f"Layer {number} must be a dict with a 'type'. Got {show_value(layer)}.", param=param)
    kind = layer.get("type")
    kind = kind.lower() if isinstance(kind, str) else kind
    if kind in SEQUENCE_LAYER_TYPES and not sequence:
        raise ParamError(
            f"Layer {number}: {kind!r} layers read windows of earlier rows; only the sequence networks "
            "(LSTM or 1-D convolution over the last rows) take them.",
            param=param,
        )
    allowed = LAYER_TYPES + (SEQUENCE_LAYER_TYPES if sequence else ())
    if kind not in allowed:
        expected = ", ".join(map(repr, allowed))
        raise ParamError(f"Layer {number}: type must be one of {expected}. Got {show_value(kind)}.", param=param)
    where = f"Layer {number} ({kind})"
    settings = LAYER_SETTINGS[kind]
    unknown = [key for key in layer if key != "type" and key not in settings]
    if unknown:
        valid = ", ".join(map(repr, settings)) or "none"
        raise ParamError(f"{where}: unknown setting {show_value(unknown[0])}. Valid settings: {valid}.", param=param)
    if kind == "dense":
        units = _whole(where, layer, "units", 1, MAX_UNITS, param)
        return {"type": "dense", "units": units, "activation": _activation(where, layer, param)}
    if kind == "dropout":
        rate = _to_float(layer.get("rate"))
        if rate is None or not 0 <= rate <= MAX_DROPOUT:
            got = show_value(layer.get("rate"))
            raise ParamError(f"{where}: rate must be a float in [0, {_num(MAX_DROPOUT)}]. Got {got}.", param=param)
        return {"type": "dropout", "rate": rate}
    if kind == "lstm":
        return {"type": "lstm", "units": _whole(where, layer, "units", 1, MAX_UNITS, param)}
    if kind == "conv1d":
        limits = {key: SEQUENCE_RANGES[key] for key in ("filters", "kernel_size")}
        out: dict[str, Any] = {"type": "conv1d"}
        for key, (low, high) in limits.items():
            out[key] = _whole(where, layer, key, int(low), int(high), param)
        out["activation"] = _activation(where, layer, param)
        return out
    if kind == "pool":
        low, high = SEQUENCE_RANGES["size"]
        return {"type": "pool", "size": _whole(where, layer, "size", int(low), int(high), param)}
    return {"type": "batchnorm"}


@dataclass(frozen=True, kw_only=True)
class LayersParam(ParamSpec):
    """The hidden layers of a network: a list of ``{"type": "dense" | "dropout" | "batchnorm", ...}`` dicts.

    Dense layers take ``units`` and ``activation`` (default relu), dropout layers
    take ``rate``; batch normalisation takes nothing. A sequence network's (``sequence``:
    ``"lstm"`` or ``"conv1d"``, the layer its random samples start with) also takes
    ``lstm`` (``units``), ``conv1d`` (``filters``, ``kernel_size``, ``activation``) and
    ``pool`` (``size``) layers before its dense ones. Validation returns a tuple of fresh,
    normalised dicts.
    """

    sequence: str = ""

    def __post_init__(self) -> None:
        self._check_default()

    def validate(self, value: Any, model_label: str) -> tuple[dict, ...]:
        return check_layers(
            value, f"The {self.name!r} parameter of {model_label}", param=self.name, sequence=bool(self.sequence)
        )

    def sample(self, rng: np.random.Generator) -> tuple[dict, ...]:
        layers: list[dict] = []
        if self.sequence == "lstm":
            layers.append({"type": "lstm", "units": int(rng.choice([8, 16, 32, 64]))})
        elif self.sequence:
            layers.append(
                {"type": "conv1d", "filters": int(rng.choice([8, 16, 32])), "kernel_size": 3, "activation": "relu"}
            )
        for _ in range(int(rng.integers(0 if self.sequence else 1, 3, endpoint=True))):
            units = int(rng.choice([16, 32, 64, 128, 256]))
            activation = str(rng.choice(["relu", "gelu", "tanh"]))
            layers.append({"type": "dense", "units": units, "activation": activation})
            if rng.random() < 0.5:
                layers.append({"type": "dropout", "rate": round(float(rng.uniform(0.0, 0.5)), 2)})
        return tuple(layers)

    def display(self, value: Any) -> str:
        return " → ".join(layer_words(layer) for layer in value)


def layer_words(layer: Mapping[str, Any]) -> str:
    """One layer in a few words ("dense 32 relu", "lstm 16", "conv1d 16×3 relu", "pool 2")."""
    kind = layer["type"]
    if kind == "dense":
        return f"dense {layer['units']} {layer['activation']}"
    if kind == "dropout":
        return f"dropout {layer['rate']:g}"
    if kind == "lstm":
        return f"lstm {layer['units']}"
    if kind == "conv1d":
        return f"conv1d {layer['filters']}×{layer['kernel_size']} {layer['activation']}"
    if kind == "pool":
        return f"pool {layer['size']}"
    return "batchnorm"
