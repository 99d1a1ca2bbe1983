"""The network's rules are defined once: the form, the layer editor's validator and the estimator agree."""

from __future__ import annotations

import pytest

from core.errors import DashboardError
from core.keras_net import KerasNetwork
from core.network_layers import validate_layers
from core.network_rules import MAX_DROPOUT, MAX_LAYERS, MAX_UNITS, RANGES
from core.params import ParamError
from core.registry import get_spec

SPEC = get_spec("keras_mlp")


def form_param(name: str):
    return next(p for p in SPEC.params if p.name == name)


def outside(name: str) -> tuple:
    """A value just under the lowest and one just over the highest of a setting's range."""
    low, high = RANGES[name]
    if isinstance(low, int) and isinstance(high, int):
        return low - 1, high + 1
    return (low / 2 if low > 0 else low - 1e-3), high + 1e-3


def estimator_refuses(name: str, value) -> str | None:
    """The estimator's refusal of ``name=value`` in words, or None when it takes it."""
    try:
        KerasNetwork(task="regression", **{name: value})._check_params()
    except DashboardError as err:
        return err.user_message
    return None


def form_refuses(name: str, value) -> str | None:
    try:
        SPEC.validate({name: value})
    except ParamError as err:
        return err.user_message
    return None


@pytest.mark.parametrize("name", sorted(RANGES))
def test_the_form_and_the_estimator_take_the_same_range(name):
    low, high = RANGES[name]
    param = form_param(name)
    assert (param.low, param.high) == (low, high), "the form offers exactly the network's range"
    for value in (low, high):
        assert form_refuses(name, value) is None and estimator_refuses(name, value) is None, value
    for value in outside(name):
        form, estimator = form_refuses(name, value), estimator_refuses(name, value)
        assert form and estimator, f"{name}={value} taken by {'the form' if not form else 'the estimator'}"
        bounds = f"[{low}, {high}]" if isinstance(low, int) else f"[{low:g}, {high:g}]"
        assert bounds in form and bounds in estimator, (form, estimator)


BAD_LAYERS = [
    [{"type": "dense", "units": MAX_UNITS + 1}],
    [{"type": "dense", "units": 0}],
    [{"type": "dense", "units": 8.5}],
    [{"type": "dense", "units": 8, "activation": "softplus"}],
    [{"type": "dense", "units": 8}, {"type": "dropout", "rate": MAX_DROPOUT + 0.05}],
    [{"type": "dense", "units": 8}, {"type": "conv"}],
    [{"type": "dense", "units": 8}, 3],
    [{"type": "dropout", "rate": 0.2, "units": 4}, {"type": "dense", "units": 8}],
    [{"type": "dropout", "rate": 0.2}],
    [{"type": "dense", "units": 8}] * (MAX_LAYERS + 1),
    "dense 64",
]


@pytest.mark.parametrize("layers", BAD_LAYERS, ids=range(len(BAD_LAYERS)))
def test_the_form_and_the_estimator_refuse_the_same_layers_in_the_same_words(layers):
    with pytest.raises(ParamError) as by_form:
        SPEC.validate({"layers": layers})
    with pytest.raises(DashboardError) as by_estimator:
        validate_layers(layers)
    form, estimator = by_form.value.user_message, by_estimator.value.user_message
    prefix = "The 'layers' parameter of Neural network (Keras)"
    assert form.removeprefix(prefix) == estimator.removeprefix("The layers of a neural network")


def test_what_the_form_takes_the_estimator_builds_from():
    layers = [{"type": "Dense", "units": "16", "activation": "TANH"}, {"type": "dropout", "rate": 0.5}]
    assert SPEC.validate({"layers": layers})["layers"] == validate_layers(layers)
    assert validate_layers(layers)[0] == {"type": "dense", "units": 16, "activation": "tanh"}
