"""Charts of the glossary: each activation function a network may use, drawn from its formula.

The curves are computed with numpy from the formulas the glossary states (Keras's definitions and
defaults: leaky ReLU's slope 0.2, exact GELU, SELU's constants), never by loading TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go

from core.charts.style import ACCENT, LAYOUT, MUTED, finish
from core.teaching.glossary import activation_terms

__all__ = ["ACTIVATION_CURVES", "activation_plot", "activation_values"]

#: SELU's constants (Klambauer et al. 2017, as in Keras).
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
#: Leaky ReLU's slope for negative inputs (Keras's default).
LEAKY_SLOPE = 0.2
_erf = np.vectorize(math.erf, otypes=[float])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + e^-x) without overflow for large |x|


def _softmax_first(x: np.ndarray) -> np.ndarray:
    scores = np.stack([x, np.zeros_like(x)])
    shifted = np.exp(scores - scores.max(axis=0))  # the usual shift by the largest score: no overflow
    return shifted[0] / shifted.sum(axis=0)


#: Each activation by its Keras name, as a function of ``x``. Softmax takes a vector of scores: its
#: curve is the first class's probability when its score is ``x`` and the only other class's is 0.
ACTIVATION_CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(0.0, x),
    "leaky_relu": lambda x: np.where(x > 0, x, LEAKY_SLOPE * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "swish": lambda x: x * _sigmoid(x),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softmax": _softmax_first,
    "linear": lambda x: np.asarray(x, dtype=float),
}


def activation_values(name: str, x: np.ndarray) -> np.ndarray:
    """The activation ``name`` (a Keras name, e.g. ``"leaky_relu"``) at each value of ``x``.

    Raises:
        KeyError: an activation the glossary has no curve for (the message lists those it has).
    """
    if name not in ACTIVATION_CURVES:
        raise KeyError(f"No curve for activation '{name}'; known: {sorted(ACTIVATION_CURVES)}.")
    return np.asarray(ACTIVATION_CURVES[name](np.asarray(x, dtype=float)), dtype=float)


def activation_plot(name: str, *, low: float = -4.0, high: float = 4.0, points: int = 161) -> go.Figure:
    """A small line chart of activation ``name`` over ``x`` in [``low``, ``high``], titled with its glossary name.

    Grey lines mark ``x = 0`` and ``y = 0``, so where the curve bends and what it does with negative
    inputs show at a glance.
    """
    titles = {t.activation: t.name for t in activation_terms()}
    x = np.linspace(low, high, points)
    y = activation_values(name, x)
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines",
        line=dict(color=ACCENT, width=2.5),
        name=titles.get(name, name),
        hovertemplate="x = %{x:.2f}<br>f(x) = %{y:.3f}<extra></extra>",
    )
    fig.add_hline(y=0, line=dict(color=MUTED, width=1))
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    fig.update_layout(**LAYOUT, height=220, title=titles.get(name, name), showlegend=False)
    fig.update_xaxes(title="x", range=[low, high], zeroline=False)
    fig.update_yaxes(title="f(x)", zeroline=False)
    return finish(fig)
