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
#: Activation functions a dense layer may use (Keras names).
ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "linear", "leaky_relu")
#: The settings each layer type takes besides its ``type``.
LAYER_SETTINGS: dict[str, tuple[str, ...]] = {"dense": ("units", "activation"), "dropout": ("rate",), "batchnorm": ()}
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


def check_layers(
    layers: Any, where: str = "The layers of a neural network", param: str | None = "layers"
) -> tuple[dict, ...]:
    """Check hidden-layer settings and return them normalised (new dicts with exactly their type's keys).

    Types and activations are read case-insensitively; a dense layer without an activation gets
    ``"relu"``; units and rates may be numbers or numeric text (a form's values).

    Raises:
        ParamError: Naming ``where`` for the list, else the 1-based number of the first bad layer.
    """
    if isinstance(layers, Mapping | str | bytes) or not isinstance(layers, Sequence):
        raise ParamError(f"{where} must be a list of layers. Got {show_value(layers)}.", param=param)
    if len(layers) > MAX_LAYERS:
        raise ParamError(f"{where} can have at most {MAX_LAYERS} layers. Got {len(layers)}.", param=param)
    clean = tuple(_layer(number, layer, param) for number, layer in enumerate(layers, start=1))
    if not any(layer["type"] == "dense" for layer in clean):
        raise ParamError(f"{where} needs at least one dense layer.", param=param)
    return clean


def _layer(number: int, layer: Any, param: str | None) -> dict:
    if not isinstance(layer, Mapping):
        raise ParamError(f"Layer {number} must be a dict with a 'type'. Got {show_value(layer)}.", param=param)
    kind = layer.get("type")
    kind = kind.lower() if isinstance(kind, str) else kind
    if kind not in LAYER_TYPES:
        expected = ", ".join(map(repr, LAYER_TYPES))
        raise ParamError(f"Layer {number}: type must be one of {expected}. Got {show_value(kind)}.", param=param)
    where = f"Layer {number} ({kind})"
    settings = LAYER_SETTINGS[kind]
    unknown = [key for key in layer if key != "type" and key not in settings]
    if unknown:
        valid = ", ".join(map(repr, settings)) or "none"
        raise ParamError(f"{where}: unknown setting {show_value(unknown[0])}. Valid settings: {valid}.", param=param)
    if kind == "dense":
        units = _to_int(layer.get("units"))
        if units is None or not 1 <= units <= MAX_UNITS:
            got = show_value(layer.get("units"))
            raise ParamError(f"{where}: units must be an int in [1, {MAX_UNITS}]. Got {got}.", param=param)
        activation = layer.get("activation", "relu")
        activation = activation.lower() if isinstance(activation, str) else activation
        if activation not in ACTIVATIONS:
            expected = ", ".join(map(repr, ACTIVATIONS))
            raise ParamError(
                f"{where}: activation must be one of {expected}. Got {show_value(activation)}.", param=param
            )
        return {"type": "dense", "units": units, "activation": activation}
    if kind == "dropout":
        rate = _to_float(layer.get("rate"))
        if rate is None or not 0 <= rate <= MAX_DROPOUT:
            got = show_value(layer.get("rate"))
            raise ParamError(f"{where}: rate must be a float in [0, {_num(MAX_DROPOUT)}]. Got {got}.", param=param)
        return {"type": "dropout", "rate": rate}
    return {"type": "batchnorm"}


@dataclass(frozen=True, kw_only=True)
class LayersParam(ParamSpec):
    """The hidden layers of a network: a list of ``{"type": "dense" | "dropout" | "batchnorm", ...}`` dicts.

    Dense layers take ``units`` and ``activation`` (default relu), dropout layers
    take ``rate``; batch normalisation takes nothing. Validation returns a tuple
    of fresh, normalised dicts.
    """

    def __post_init__(self) -> None:
        self._check_default()

    def validate(self, value: Any, model_label: str) -> tuple[dict, ...]:
        return check_layers(value, f"The {self.name!r} parameter of {model_label}", param=self.name)

    def sample(self, rng: np.random.Generator) -> tuple[dict, ...]:
        layers: list[dict] = []
        for _ in range(int(rng.integers(1, 3, endpoint=True))):
            units = int(rng.choice([16, 32, 64, 128, 256]))
            activation = str(rng.choice(["relu", "gelu", "tanh"]))
            layers.append({"type": "dense", "units": units, "activation": activation})
            if rng.random() < 0.5:
                layers.append({"type": "dropout", "rate": round(float(rng.uniform(0.0, 0.5)), 2)})
        return tuple(layers)

    def display(self, value: Any) -> str:
        parts = []
        for layer in value:
            if layer["type"] == "dense":
                parts.append(f"dense {layer['units']} {layer['activation']}")
            elif layer["type"] == "dropout":
                parts.append(f"dropout {layer['rate']:g}")
            else:
                parts.append("batchnorm")
        return " → ".join(parts)
