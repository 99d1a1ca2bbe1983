"""Look-ups over the declared model catalogue: which models exist, which suit a task, which to preselect.

A :class:`ModelSpec` says what a model is (label, family, a sentence of help),
which tasks it serves, its parameters as :class:`ParamSpec` objects (range,
default, label, help, basic or advanced) and how to build the unfitted
estimator. One generic form renderer in ``ui/`` draws any spec; validation
speaks like scikit-learn ("The 'n_estimators' parameter of Random forest must
be an int in the range [1, 2000]. Got 0.").

Where things live:

- :mod:`core.params`: the parameter specs (:class:`IntParam`, :class:`FloatParam`,
  :class:`ChoiceParam`, :class:`BoolParam`, :class:`LayersParam`) and :class:`ParamError`.
- :mod:`core.models_catalogue`: :class:`ModelSpec` and the declared models, one module
  per family. Adding a model means adding one spec there.
- This module: :data:`REGISTRY` (key -> spec), :func:`get_spec`, :func:`specs_for` and
  :func:`recommended`, and the catalogue-wide checks. It re-exports the names above,
  so ``from core.registry import IntParam, ModelSpec, get_spec`` keeps working.

Estimator libraries are imported inside the build functions, so importing this
module loads neither scikit-learn's estimators, LightGBM, TensorFlow nor shap.
"""

from __future__ import annotations

from core.errors import DashboardError
from core.models_catalogue import CATALOGUE
from core.models_catalogue.spec import EXPLAINERS, FAMILIES, ModelSpec
from core.network_rules import ACTIVATIONS, LAYER_TYPES, LayersParam
from core.params import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    ParamError,
    ParamSpec,
    show_value,
)
from core.target import Task

__all__ = [
    "ACTIVATIONS",
    "EXPLAINERS",
    "FAMILIES",
    "LAYER_TYPES",
    "REGISTRY",
    "BoolParam",
    "ChoiceParam",
    "FloatParam",
    "IntParam",
    "LayersParam",
    "ModelSpec",
    "ParamError",
    "ParamSpec",
    "get_spec",
    "recommended",
    "specs_for",
]

REGISTRY: dict[str, ModelSpec] = {spec.key: spec for spec in CATALOGUE}
if len(REGISTRY) != len(CATALOGUE):
    raise ValueError("Duplicate model keys in the catalogue")


def specs_for(task: Task | str) -> list[ModelSpec]:
    """The specs that can do ``task``, in catalogue order (baseline first)."""
    task = Task(task)
    return [spec for spec in REGISTRY.values() if task in spec.tasks]


def recommended(task: Task | str, n_rows: int | None = None) -> list[str]:
    """Keys of the models preselected for ``task``, in catalogue order.

    With ``n_rows``, models too slow for that many rows (``recommended_max_rows``) are left out.
    """
    task = Task(task)
    return [
        spec.key
        for spec in REGISTRY.values()
        if task in spec.recommended
        and (n_rows is None or spec.recommended_max_rows is None or n_rows <= spec.recommended_max_rows)
    ]


def get_spec(key: str) -> ModelSpec:
    """The spec called ``key``; a :class:`DashboardError` naming the models by the names people see otherwise."""
    try:
        return REGISTRY[key]
    except (KeyError, TypeError):
        known = ", ".join(sorted({spec.label for spec in REGISTRY.values()}))
        raise DashboardError(
            f"There is no model called {show_value(key)} in this version of the app. "
            f"It offers: {known}. Choose one of them on the Models page."
        ) from None
