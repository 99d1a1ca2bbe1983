"""The declared model catalogue: every model the app offers, with typed parameters.

A :class:`ModelSpec` says what a model is (label, family, a sentence of help),
which tasks it serves, its parameters as :class:`ParamSpec` objects (range,
default, label, help, basic or advanced) and how to build the unfitted
estimator. One generic form renderer in ``ui/`` draws any spec; validation
lives here and speaks like scikit-learn ("The 'n_estimators' parameter of
Random forest must be an int in the range [1, 2000]. Got 0."). Adding a model
means adding one spec to the catalogue at the end of this module.

Estimator libraries are imported inside the build functions, so importing this
module loads neither scikit-learn's estimators, LightGBM, TensorFlow nor shap.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import DashboardError
from core.target import Task

FAMILIES = ("baseline", "linear", "tree", "ensemble", "boosting", "svm", "neighbors", "bayes", "neural", "clustering")
#: Which SHAP explainer suits a model: fast exact ones for trees and linear models, model-agnostic otherwise.
EXPLAINERS = ("tree", "linear", "kernel")
LAYER_TYPES = ("dense", "dropout", "batchnorm")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "linear", "leaky_relu")


class ParamError(DashboardError):
    """A parameter value that a model cannot take; ``param`` names the parameter when known."""

    def __init__(self, user_message: str, *, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(user_message, hint=hint)
        self.param = param


# --------------------------------------------------------------------------- value coercion


def _show(value: Any, limit: int = 60) -> str:
    """A value as scikit-learn shows it in messages (repr, numpy scalars as Python ones, shortened)."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float) -> str:
    """A range bound without noise: 1e-05, 0.9, 2000."""
    return f"{value:g}"


def _to_float(value: Any) -> float | None:
    """A finite number from a number or a numeric string (e.g. from a form); None otherwise. Bools are not numbers."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _to_int(value: Any) -> int | None:
    """An int from an int, an int-valued float (5.0) or a numeric string; None otherwise."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return int(value)
    number = _to_float(value)
    return int(number) if number is not None and number.is_integer() else None


# --------------------------------------------------------------------------- parameter specs


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One hyperparameter as a form shows it: name, label, default, one line of help.

    ``advanced`` parameters sit behind an "Advanced" toggle in the form.
    """

    name: str
    label: str
    default: Any = field(hash=False)
    help: str
    advanced: bool = False

    def validate(self, value: Any, model_label: str) -> Any:
        """Return ``value`` coerced to this parameter's type, or raise :class:`ParamError`."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        """A random valid value, for random search."""
        raise NotImplementedError

    def display(self, value: Any) -> str:
        """A value as a person reads it (choice labels, 'no limit' for None)."""
        return str(value)

    def _refuse(self, model_label: str, expected: str, value: Any) -> ParamError:
        return ParamError(
            f"The '{self.name}' parameter of {model_label} must be {expected}. Got {_show(value)}.", param=self.name
        )

    def _check_default(self) -> None:
        try:
            self.validate(self.default, "the catalogue")
        except ParamError as err:  # a mistake in the catalogue, not the person's
            raise ValueError(f"Invalid default: {err.user_message}") from None


@dataclass(frozen=True, kw_only=True)
class _RangeParam(ParamSpec):
    """A number in ``[low, high]`` (both included), optionally log-scaled and optionally ``None``."""

    low: float
    high: float
    log: bool = False
    allow_none: bool = False
    none_label: str = "no limit"

    _kind = "a number"

    def __post_init__(self) -> None:
        if self.low > self.high or (self.log and self.low <= 0):
            raise ValueError(f"Bad range for '{self.name}': [{self.low}, {self.high}], log={self.log}")
        self._check_default()

    @property
    def expected(self) -> str:
        """What a valid value is, in words."""
        text = f"{self._kind} in the range [{_num(self.low)}, {_num(self.high)}]"
        return f"{text} or None ({self.none_label})" if self.allow_none else text

    def _is_none(self, value: Any) -> bool:
        if value is None:
            return True
        return isinstance(value, str) and value.strip().lower() in {"none", self.none_label.lower()}

    def _coerce(self, value: Any) -> float | None:
        raise NotImplementedError

    def validate(self, value: Any, model_label: str) -> Any:
        if self._is_none(value):
            if self.allow_none:
                return None
            raise self._refuse(model_label, self.expected, value)
        number = self._coerce(value)
        if number is None or not self.low <= number <= self.high:
            raise self._refuse(model_label, self.expected, value)
        return number

    def display(self, value: Any) -> str:
        return self.none_label if value is None else f"{value:g}"

    def _draw(self, rng: np.random.Generator) -> float:
        if self.log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True, kw_only=True)
class IntParam(_RangeParam):
    """A whole number in ``[low, high]``; int-valued floats and numeric strings are accepted."""

    low: int
    high: int
    _kind = "an int"

    def _coerce(self, value: Any) -> int | None:
        return _to_int(value)

    def sample(self, rng: np.random.Generator) -> int | None:
        if self.allow_none and rng.random() < 0.2:
            return None
        if not self.log:
            return int(rng.integers(self.low, self.high, endpoint=True))
        # Log-uniform over [low, high + 1) then floored, so every int keeps a share of the draws.
        drawn = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
        return min(max(math.floor(drawn), self.low), self.high)


@dataclass(frozen=True, kw_only=True)
class FloatParam(_RangeParam):
    """A real number in ``[low, high]``; ints and numeric strings are accepted."""

    _kind = "a float"

    def _coerce(self, value: Any) -> float | None:
        return _to_float(value)

    def sample(self, rng: np.random.Generator) -> float | None:
        if self.allow_none and rng.random() < 0.2:
            return None
        return min(max(self._draw(rng), float(self.low)), float(self.high))


@dataclass(frozen=True, kw_only=True)
class ChoiceParam(ParamSpec):
    """One of a fixed tuple of values; ``labels`` maps a value to the text a form shows."""

    choices: tuple
    labels: dict | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError(f"'{self.name}' has no choices")
        self._check_default()

    @property
    def expected(self) -> str:
        """What a valid value is, in words."""
        return "one of " + ", ".join(_show(choice) for choice in self.choices)

    def validate(self, value: Any, model_label: str) -> Any:
        for choice in self.choices:
            if _same_choice(choice, value):
                return choice
        raise self._refuse(model_label, self.expected, value)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def display(self, value: Any) -> str:
        return str((self.labels or {}).get(value, value))


def _same_choice(choice: Any, value: Any) -> bool:
    """Whether ``value`` means ``choice``: equal and of a compatible type, or its text from a form."""
    if isinstance(value, str) and not isinstance(choice, str):
        return value.strip().lower() == str(choice).lower()
    if isinstance(choice, bool) or isinstance(value, bool | np.bool_):
        return isinstance(choice, bool) and isinstance(value, bool | np.bool_) and bool(value) == choice
    if isinstance(choice, str) != isinstance(value, str):
        return False
    try:
        return bool(choice == value)
    except (TypeError, ValueError):  # arrays and other odd values
        return False


@dataclass(frozen=True, kw_only=True)
class BoolParam(ParamSpec):
    """On or off. Only True/False (or the words 'true'/'false') are accepted, not 0 and 1."""

    def __post_init__(self) -> None:
        self._check_default()

    def validate(self, value: Any, model_label: str) -> bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        raise self._refuse(model_label, "a bool (true or false)", value)

    def sample(self, rng: np.random.Generator) -> bool:
        return bool(rng.random() < 0.5)

    def display(self, value: Any) -> str:
        return "on" if value else "off"


@dataclass(frozen=True, kw_only=True)
class LayersParam(ParamSpec):
    """The hidden layers of a network: a list of ``{"type": "dense" | "dropout" | "batchnorm", ...}`` dicts.

    Dense layers take ``units`` and ``activation`` (default relu), dropout layers
    take ``rate``; batch normalisation takes nothing. Validation returns a tuple
    of fresh, normalised dicts.
    """

    max_layers: int = 20
    max_units: int = 4096
    max_rate: float = 0.9

    def __post_init__(self) -> None:
        self._check_default()

    def validate(self, value: Any, model_label: str) -> tuple[dict, ...]:
        where = f"The '{self.name}' parameter of {model_label}"
        if not isinstance(value, list | tuple):
            raise ParamError(f"{where} must be a list of layers. Got {_show(value)}.", param=self.name)
        if len(value) > self.max_layers:
            raise ParamError(f"{where} can have at most {self.max_layers} layers. Got {len(value)}.", param=self.name)
        layers = tuple(self._layer(number, layer) for number, layer in enumerate(value, start=1))
        if not any(layer["type"] == "dense" for layer in layers):
            raise ParamError(f"{where} needs at least one dense layer.", param=self.name)
        return layers

    def _layer(self, number: int, layer: Any) -> dict:
        if not isinstance(layer, Mapping):
            raise self._error(f"Layer {number} must be a dict with a 'type'. Got {_show(layer)}.")
        kind = layer.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            expected = ", ".join(repr(t) for t in LAYER_TYPES)
            raise self._error(f"Layer {number}: type must be one of {expected}. Got {_show(kind)}.")
        where = f"Layer {number} ({kind})"
        settings = {"dense": ("units", "activation"), "dropout": ("rate",), "batchnorm": ()}[kind]
        unknown = [key for key in layer if key != "type" and key not in settings]
        if unknown:
            valid = ", ".join(repr(s) for s in settings) or "none"
            raise self._error(f"{where}: unknown setting {_show(unknown[0])}. Valid settings: {valid}.")
        if kind == "dense":
            units = _to_int(layer.get("units"))
            if units is None or not 1 <= units <= self.max_units:
                raise self._error(
                    f"{where}: units must be an int in [1, {self.max_units}]. Got {_show(layer.get('units'))}."
                )
            activation = layer.get("activation", "relu")
            if not isinstance(activation, str) or activation not in ACTIVATIONS:
                expected = ", ".join(repr(a) for a in ACTIVATIONS)
                raise self._error(f"{where}: activation must be one of {expected}. Got {_show(activation)}.")
            return {"type": "dense", "units": units, "activation": activation}
        if kind == "dropout":
            rate = _to_float(layer.get("rate"))
            if rate is None or not 0 <= rate <= self.max_rate:
                raise self._error(
                    f"{where}: rate must be a float in [0, {_num(self.max_rate)}]. Got {_show(layer.get('rate'))}."
                )
            return {"type": "dropout", "rate": rate}
        return {"type": "batchnorm"}

    def _error(self, message: str) -> ParamError:
        return ParamError(message, param=self.name)

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


# --------------------------------------------------------------------------- model specs


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A model the app offers: what it is, which tasks it serves, its parameters and how to build it.

    ``build(task, params, seed, class_weight=None)`` receives validated
    parameters and returns an unfitted estimator; call :meth:`build_estimator`
    rather than ``build`` so parameters are validated and targets scaled.
    ``check(task, params, label)``, when given, refuses parameter values that
    do not fit the task.
    """

    key: str
    label: str
    family: str
    tasks: frozenset[Task]
    params: tuple[ParamSpec, ...]
    build: Callable[..., Any]
    explainer: str
    help: str
    supports_class_weight: bool = False
    accepts_sparse: bool = True
    staged: bool = False
    recommended: frozenset[Task] = frozenset()
    needs_tensorflow: bool = False
    scale_target: bool = False
    check: Callable[[Task, dict, str], None] | None = None

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if self.family not in FAMILIES or self.explainer not in EXPLAINERS:
            raise ValueError(f"{self.key}: unknown family {self.family!r} or explainer {self.explainer!r}")
        if len(set(names)) != len(names) or not self.recommended <= self.tasks:
            raise ValueError(f"{self.key}: duplicate parameter names or recommended for a task it cannot do")

    def param(self, name: str) -> ParamSpec:
        """The parameter called ``name``."""
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def basic_params(self) -> tuple[ParamSpec, ...]:
        """Parameters shown by default."""
        return tuple(p for p in self.params if not p.advanced)

    def advanced_params(self) -> tuple[ParamSpec, ...]:
        """Parameters shown behind the "Advanced" toggle."""
        return tuple(p for p in self.params if p.advanced)

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default (fresh copies, safe to edit)."""
        return {p.name: copy.deepcopy(p.default) for p in self.params}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Random valid parameters, for random search."""
        return {p.name: p.sample(rng) for p in self.params}

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Complete ``params`` with defaults and check every value; raise :class:`ParamError` on the first problem."""
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ParamError(
                f"The parameters of {self.label} must be a mapping of names to values. Got {_show(params)}."
            )
        known = {p.name for p in self.params}
        unknown = [name for name in params if name not in known]
        if unknown:
            valid = ", ".join(repr(p.name) for p in self.params)
            detail = f"Valid parameters are: {valid}." if valid else f"{self.label} takes no parameters."
            raise ParamError(f"Invalid parameter {_show(unknown[0])} for {self.label}. {detail}", param=str(unknown[0]))
        return {
            p.name: p.validate(params[p.name], self.label) if p.name in params else copy.deepcopy(p.default)
            for p in self.params
        }

    def build_estimator(
        self, task: Task | str, params: Mapping[str, Any] | None = None, seed: int = 0, class_weight: str | None = None
    ) -> Any:
        """An unfitted estimator for ``task`` from form values.

        Args:
            task: The task to solve; must be one of the spec's ``tasks``.
            params: Parameter values (missing ones take their defaults).
            seed: Random seed, passed as ``random_state`` wherever the estimator has one.
            class_weight: ``"balanced"`` to weight classes by rarity; ignored by models
                that do not support it and outside classification.

        Raises:
            DashboardError: The task is not supported, or (as :class:`ParamError`) a value is invalid.
        """
        task = Task(task)
        if task not in self.tasks:
            supported = ", ".join(t.value for t in Task if t in self.tasks)
            raise DashboardError(
                f"{self.label} cannot be used for {task.value}; it works for {supported}.",
                hint="Pick another model, or change the task on the Target page.",
            )
        values = self.validate(params)
        if self.check is not None:
            self.check(task, values, self.label)
        if class_weight not in (None, "balanced"):
            raise ParamError(f"class_weight must be None or 'balanced'. Got {_show(class_weight)}.")
        weight = class_weight if self.supports_class_weight and task.is_classification else None
        estimator = self.build(task, values, int(seed), weight)
        if self.scale_target and task == Task.REGRESSION:
            from sklearn.compose import TransformedTargetRegressor
            from sklearn.preprocessing import StandardScaler

            estimator = TransformedTargetRegressor(regressor=estimator, transformer=StandardScaler())
        return estimator


# --------------------------------------------------------------------------- catalogue helpers


def specs_for(task: Task | str) -> list[ModelSpec]:
    """The specs that can do ``task``, in catalogue order (baseline first)."""
    task = Task(task)
    return [spec for spec in REGISTRY.values() if task in spec.tasks]


def recommended(task: Task | str) -> list[str]:
    """Keys of the models preselected for ``task``, in catalogue order."""
    task = Task(task)
    return [spec.key for spec in REGISTRY.values() if task in spec.recommended]


def get_spec(key: str) -> ModelSpec:
    """The spec called ``key``; a :class:`DashboardError` listing the known keys otherwise."""
    try:
        return REGISTRY[key]
    except (KeyError, TypeError):
        known = ", ".join(REGISTRY)
        raise DashboardError(f"There is no model called {_show(key)}. Known models: {known}.") from None


def _physical_cores() -> int:
    """Threads for LightGBM: its docs advise one per physical core, not per hyper-thread."""
    import joblib

    return max(1, joblib.cpu_count(only_physical_cores=True))


# --------------------------------------------------------------------------- shared parameters

_CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
_REGRESSION = frozenset({Task.REGRESSION})
_SUPERVISED = _CLASSIFICATION | _REGRESSION
_CLUSTERING = frozenset({Task.CLUSTERING})


def _n_estimators(default: int, high: int = 2000) -> IntParam:
    return IntParam(
        name="n_estimators",
        label="Number of trees",
        default=default,
        low=1,
        high=high,
        log=True,
        help="More trees give steadier predictions but take longer to train.",
    )


def _max_depth(default: int | None, advanced: bool = False) -> IntParam:
    return IntParam(
        name="max_depth",
        label="Maximum depth",
        default=default,
        low=1,
        high=100,
        allow_none=True,
        advanced=advanced,
        help="How many questions a tree may ask in a row; shallower trees are simpler and overfit less.",
    )


def _min_samples_leaf(default: int, advanced: bool = True) -> IntParam:
    return IntParam(
        name="min_samples_leaf",
        label="Minimum rows per leaf",
        default=default,
        low=1,
        high=1000,
        log=True,
        advanced=advanced,
        help="Each final group must hold at least this many rows; larger values smooth the model.",
    )


def _learning_rate(default: float) -> FloatParam:
    return FloatParam(
        name="learning_rate",
        label="Learning rate",
        default=default,
        low=0.001,
        high=1.0,
        log=True,
        help="How much each new tree corrects the previous ones; smaller is more careful but needs more trees.",
    )


def _forest_params(classifier: bool) -> tuple[ParamSpec, ...]:
    return (
        _n_estimators(300),
        _max_depth(None),
        _min_samples_leaf(1),
        ChoiceParam(
            name="max_features",
            label="Features tried per split",
            default="sqrt" if classifier else 1.0,
            choices=("sqrt", "log2", 0.5, 1.0),
            labels={"sqrt": "square root of the features", "log2": "log₂ of the features", 0.5: "half", 1.0: "all"},
            advanced=True,
            help="Trying fewer features at each split makes the trees more different from each other.",
        ),
    )


def _tree_params(classifier: bool) -> tuple[ParamSpec, ...]:
    criteria = ("gini", "entropy", "log_loss") if classifier else ("squared_error", "absolute_error")
    return (
        _max_depth(6),
        _min_samples_leaf(5, advanced=False),
        ChoiceParam(
            name="criterion",
            label="Split quality measure",
            default=criteria[0],
            choices=criteria,
            advanced=True,
            help="How the tree scores a candidate question; the default rarely needs changing.",
        ),
    )


def _hgb_params() -> tuple[ParamSpec, ...]:
    return (
        _learning_rate(0.1),
        IntParam(
            name="max_iter",
            label="Number of boosting rounds",
            default=200,
            low=1,
            high=5000,
            log=True,
            help="How many trees are added one after another; early stopping may use fewer.",
        ),
        IntParam(
            name="max_leaf_nodes",
            label="Leaves per tree",
            default=31,
            low=2,
            high=1024,
            log=True,
            help="How detailed each tree may be; more leaves capture finer patterns but overfit sooner.",
        ),
        ChoiceParam(
            name="early_stopping",
            label="Early stopping",
            default="auto",
            choices=("auto", True, False),
            labels={"auto": "automatic (on above 10,000 rows)", True: "on", False: "off"},
            help="Stop adding trees when a held-out tenth of the training rows stops improving.",
        ),
        _min_samples_leaf(20),
        FloatParam(
            name="l2_regularization",
            label="L2 regularisation",
            default=0.0,
            low=0.0,
            high=100.0,
            advanced=True,
            help="Shrinks leaf values towards zero; raise it if the model overfits.",
        ),
        _max_depth(None, advanced=True),
    )


def _lightgbm_params() -> tuple[ParamSpec, ...]:
    return (
        _n_estimators(300, high=5000),
        _learning_rate(0.05),
        IntParam(
            name="num_leaves",
            label="Leaves per tree",
            default=31,
            low=2,
            high=1024,
            log=True,
            help="How detailed each tree may be; more leaves capture finer patterns but overfit sooner.",
        ),
        IntParam(
            name="min_child_samples",
            label="Minimum rows per leaf",
            default=20,
            low=1,
            high=1000,
            log=True,
            help="Each final group must hold at least this many rows; larger values smooth the model.",
        ),
        FloatParam(
            name="subsample",
            label="Row share per tree",
            default=1.0,
            low=0.1,
            high=1.0,
            advanced=True,
            help="Each tree sees this share of the rows, drawn at random; below 1 adds variety and speed.",
        ),
        FloatParam(
            name="colsample_bytree",
            label="Feature share per tree",
            default=1.0,
            low=0.1,
            high=1.0,
            advanced=True,
            help="Each tree sees this share of the features, drawn at random; below 1 adds variety.",
        ),
        FloatParam(
            name="reg_lambda",
            label="L2 regularisation",
            default=0.0,
            low=0.0,
            high=100.0,
            advanced=True,
            help="Shrinks leaf values towards zero; raise it if the model overfits.",
        ),
    )


def _svm_params(regression: bool) -> tuple[ParamSpec, ...]:
    params: list[ParamSpec] = [
        FloatParam(
            name="C",
            label="Flexibility (C)",
            default=1.0,
            low=0.001,
            high=1000.0,
            log=True,
            help="Higher values follow the training rows more closely; lower values give a smoother boundary.",
        ),
        ChoiceParam(
            name="kernel",
            label="Kernel",
            default="rbf",
            choices=("rbf", "linear", "poly", "sigmoid"),
            labels={
                "rbf": "RBF (curved, usual choice)",
                "linear": "linear",
                "poly": "polynomial",
                "sigmoid": "sigmoid",
            },
            help="The shape of boundary the model can draw; RBF bends around the data.",
        ),
        ChoiceParam(
            name="gamma",
            label="Kernel width",
            default="scale",
            choices=("scale", "auto"),
            labels={"scale": "from the data's spread", "auto": "1 / number of features"},
            advanced=True,
            help="How far one row's influence reaches for the curved kernels.",
        ),
        IntParam(
            name="degree",
            label="Polynomial degree",
            default=3,
            low=2,
            high=5,
            advanced=True,
            help="Only for the polynomial kernel: how curved the boundary may be.",
        ),
    ]
    if regression:
        params.insert(
            1,
            FloatParam(
                name="epsilon",
                label="Tolerance (epsilon)",
                default=0.1,
                low=0.0,
                high=10.0,
                help="Errors smaller than this (in standard deviations of the target) are ignored.",
            ),
        )
    return tuple(params)


def _knn_params() -> tuple[ParamSpec, ...]:
    return (
        IntParam(
            name="n_neighbors",
            label="Number of neighbours",
            default=15,
            low=1,
            high=200,
            log=True,
            help="How many similar training rows vote on each prediction; more neighbours give smoother answers.",
        ),
        ChoiceParam(
            name="weights",
            label="Neighbour weighting",
            default="uniform",
            choices=("uniform", "distance"),
            labels={"uniform": "equal votes", "distance": "closer neighbours count more"},
            help="Whether nearer neighbours get a bigger say.",
        ),
        ChoiceParam(
            name="metric",
            label="Distance",
            default="euclidean",
            choices=("euclidean", "manhattan", "cosine"),
            advanced=True,
            help="How similarity between rows is measured.",
        ),
    )


def _n_clusters() -> IntParam:
    return IntParam(
        name="n_clusters",
        label="Number of groups",
        default=3,
        low=2,
        high=50,
        help="How many groups to split the rows into.",
    )


# --------------------------------------------------------------------------- build functions
# Each takes (task, validated params, seed, class_weight) and returns an unfitted estimator.


def _build_baseline(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    # "prior" predicts the most frequent class like "most_frequent", but its probabilities
    # are the class shares, which gives honest log-loss and calibration figures.
    return DummyClassifier(strategy="prior") if task.is_classification else DummyRegressor(strategy="mean")


def _build_logistic(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression

    # scikit-learn 1.8 deprecated `penalty`: the choice maps to l1_ratio, and "none" to C=inf.
    l1_ratio = {"l2": 0.0, "none": 0.0, "l1": 1.0, "elasticnet": p["l1_ratio"]}[p["penalty"]]
    return LogisticRegression(
        C=math.inf if p["penalty"] == "none" else p["C"],
        l1_ratio=l1_ratio,
        solver="lbfgs" if l1_ratio == 0 else "saga",
        max_iter=p["max_iter"],
        class_weight=class_weight,
        random_state=seed,
    )


def _build_forest(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    if task.is_classification:
        return RandomForestClassifier(**p, class_weight=class_weight, n_jobs=-1, random_state=seed)
    return RandomForestRegressor(**p, n_jobs=-1, random_state=seed)


def _build_tree(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if task.is_classification:
        return DecisionTreeClassifier(**p, class_weight=class_weight, random_state=seed)
    return DecisionTreeRegressor(**p, random_state=seed)


def _build_hgb(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task.is_classification:
        return HistGradientBoostingClassifier(**p, class_weight=class_weight, random_state=seed)
    return HistGradientBoostingRegressor(**p, random_state=seed)


def _build_lightgbm(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor

    common = {
        **p,
        "subsample_freq": 1 if p["subsample"] < 1 else 0,  # LightGBM ignores subsample unless bagging is on
        "random_state": seed,
        "n_jobs": _physical_cores(),
        "verbose": -1,
    }
    if task.is_classification:
        return LGBMClassifier(**common, class_weight=class_weight)
    return LGBMRegressor(**common)


def _build_svc(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # SVC(probability=True) is deprecated in scikit-learn 1.9; this is its documented replacement
    # (Platt scaling on cross-validated scores, one SVC refitted on all rows). Three folds keep it
    # quicker and tolerate classes with as few as three training rows.
    svc = SVC(**p, class_weight=class_weight, random_state=seed)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _build_svr(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.svm import SVR

    return SVR(**p)


def _build_knn(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    model = KNeighborsClassifier if task.is_classification else KNeighborsRegressor
    return model(**p, n_jobs=-1)


def _build_naive_bayes(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(**p)


def _build_linear(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression(**p)


def _build_ridge(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(**p, random_state=seed)


def _build_lasso(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(**p, random_state=seed)


def _build_kmeans(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.cluster import KMeans

    return KMeans(**p, random_state=seed)


def _build_dbscan(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.cluster import DBSCAN

    return DBSCAN(**p, n_jobs=-1)


def _build_agglomerative(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(**p)


def _build_keras(task: Task, p: dict, seed: int, class_weight: str | None = None) -> Any:
    from core.keras_net import KerasNetwork  # loads TensorFlow lazily, only when a network is built

    return KerasNetwork(task=task.value, seed=seed, class_weight=class_weight, **p)


_KERAS_LOSSES = {
    Task.BINARY: ("auto", "binary_crossentropy", "categorical_crossentropy"),
    Task.MULTICLASS: ("auto", "categorical_crossentropy"),
    Task.REGRESSION: ("auto", "mse", "mae", "huber"),
}


def _check_keras(task: Task, p: dict, label: str) -> None:
    allowed = _KERAS_LOSSES[task]
    if p["loss"] not in allowed:
        raise ParamError(
            f"The 'loss' parameter of {label} must be one of {', '.join(map(repr, allowed))} for {task.value}. "
            f"Got {p['loss']!r}.",
            param="loss",
        )


def _keras_params() -> tuple[ParamSpec, ...]:
    return (
        LayersParam(
            name="layers",
            label="Hidden layers",
            default=(
                {"type": "dense", "units": 64, "activation": "relu"},
                {"type": "dropout", "rate": 0.1},
                {"type": "dense", "units": 32, "activation": "relu"},
            ),
            help="The network's layers between input and output: dense layers learn, dropout fights overfitting.",
        ),
        ChoiceParam(
            name="optimizer",
            label="Optimiser",
            default="adam",
            choices=("adam", "sgd", "rmsprop"),
            labels={"adam": "Adam (usual choice)", "sgd": "SGD with momentum", "rmsprop": "RMSprop"},
            help="The method that adjusts the network's weights after each batch.",
        ),
        FloatParam(
            name="learning_rate",
            label="Learning rate",
            default=1e-3,
            low=1e-5,
            high=1.0,
            log=True,
            help="Size of each weight update; too high makes training jumpy, too low makes it slow.",
        ),
        IntParam(
            name="epochs",
            label="Epochs",
            default=100,
            low=1,
            high=2000,
            log=True,
            help="How many times the network goes through all training rows (early stopping may end sooner).",
        ),
        IntParam(
            name="batch_size",
            label="Batch size",
            default=32,
            low=1,
            high=4096,
            log=True,
            help="Rows per weight update; larger batches train faster per epoch but update less often.",
        ),
        BoolParam(
            name="early_stopping",
            label="Early stopping",
            default=True,
            help="Stop when the validation score stops improving, so the network does not overfit.",
        ),
        IntParam(
            name="patience",
            label="Patience",
            default=10,
            low=1,
            high=200,
            help="With early stopping: how many epochs without improvement to wait before stopping.",
        ),
        BoolParam(
            name="restore_best_weights",
            label="Keep the best epoch",
            default=True,
            help="After early stopping, go back to the weights from the best epoch rather than the last.",
        ),
        FloatParam(
            name="momentum",
            label="Momentum (SGD)",
            default=0.9,
            low=0.0,
            high=0.99,
            advanced=True,
            help="Only for SGD: how much of the previous update carries over; smooths and speeds up training.",
        ),
        FloatParam(
            name="l2",
            label="L2 weight penalty",
            default=0.0,
            low=0.0,
            high=1.0,
            advanced=True,
            help="Pulls weights towards zero to fight overfitting; try 0.0001 to 0.01.",
        ),
        ChoiceParam(
            name="loss",
            label="Loss",
            default="auto",
            choices=("auto", "binary_crossentropy", "categorical_crossentropy", "mse", "mae", "huber"),
            labels={
                "auto": "automatic (from the task)",
                "binary_crossentropy": "binary cross-entropy",
                "categorical_crossentropy": "categorical cross-entropy",
                "mse": "mean squared error",
                "mae": "mean absolute error",
                "huber": "Huber (robust to outliers)",
            },
            advanced=True,
            help="What the network minimises; 'automatic' picks the right one for the task.",
        ),
    )


# --------------------------------------------------------------------------- the catalogue

_CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="baseline",
        label="Baseline",
        family="baseline",
        tasks=_SUPERVISED,
        params=(),
        build=_build_baseline,
        explainer="kernel",
        help="Always predicts the most common class (or the average number) without looking at the features. "
        "Any real model must beat it to be worth using.",
        recommended=_SUPERVISED,
    ),
    ModelSpec(
        key="logistic_regression",
        label="Logistic regression",
        family="linear",
        tasks=_CLASSIFICATION,
        params=(
            FloatParam(
                name="C",
                label="Regularisation strength (C)",
                default=1.0,
                low=1e-4,
                high=1e4,
                log=True,
                help="Lower values keep the weights small and the model simple; higher values fit the data harder.",
            ),
            ChoiceParam(
                name="penalty",
                label="Penalty",
                default="l2",
                choices=("l2", "l1", "elasticnet", "none"),
                labels={
                    "l2": "L2: shrink all weights",
                    "l1": "L1: drop unhelpful features",
                    "elasticnet": "elastic net: a mix of both",
                    "none": "none",
                },
                help="How the model is kept simple: L1 can switch features off entirely, L2 only shrinks them.",
            ),
            IntParam(
                name="max_iter",
                label="Maximum iterations",
                default=1000,
                low=10,
                high=100_000,
                log=True,
                advanced=True,
                help="Upper limit on optimisation steps; raise it if you see a convergence warning.",
            ),
            FloatParam(
                name="l1_ratio",
                label="L1 share (elastic net)",
                default=0.5,
                low=0.0,
                high=1.0,
                advanced=True,
                help="Only for the elastic-net penalty: 0 is pure L2, 1 is pure L1.",
            ),
        ),
        build=_build_logistic,
        explainer="linear",
        help="Weighs each feature and turns the sum into a probability. Fast, easy to explain, and a strong "
        "choice when the effects are roughly additive.",
        supports_class_weight=True,
        recommended=_CLASSIFICATION,
    ),
    ModelSpec(
        key="linear_regression",
        label="Linear regression",
        family="linear",
        tasks=_REGRESSION,
        params=(
            BoolParam(
                name="fit_intercept",
                label="Fit an intercept",
                default=True,
                advanced=True,
                help="Learn a constant starting value; leave on unless the target is zero when all features are.",
            ),
            BoolParam(
                name="positive",
                label="Only positive weights",
                default=False,
                advanced=True,
                help="Force every feature to push the prediction up, never down.",
            ),
        ),
        build=_build_linear,
        explainer="linear",
        help="Fits a straight-line (weighted sum) relation between the features and the number. The classic "
        "first model: each weight reads as 'one unit more of this feature adds so much'.",
    ),
    ModelSpec(
        key="ridge",
        label="Ridge regression",
        family="linear",
        tasks=_REGRESSION,
        params=(
            FloatParam(
                name="alpha",
                label="Regularisation strength (alpha)",
                default=1.0,
                low=1e-4,
                high=1e4,
                log=True,
                help="Higher values shrink the weights more, which helps with many or correlated features.",
            ),
        ),
        build=_build_ridge,
        explainer="linear",
        help="Linear regression that keeps its weights small, so it stays stable with many or correlated "
        "features. A reliable, fast starting point.",
        recommended=_REGRESSION,
    ),
    ModelSpec(
        key="lasso",
        label="Lasso regression",
        family="linear",
        tasks=_REGRESSION,
        params=(
            FloatParam(
                name="alpha",
                label="Regularisation strength (alpha)",
                default=0.01,
                low=1e-5,
                high=1e5,
                log=True,
                help="Higher values switch more features off; the right size depends on the target's units.",
            ),
            IntParam(
                name="max_iter",
                label="Maximum iterations",
                default=10_000,
                low=100,
                high=1_000_000,
                log=True,
                advanced=True,
                help="Upper limit on optimisation steps; raise it if you see a convergence warning.",
            ),
        ),
        build=_build_lasso,
        explainer="linear",
        help="Linear regression that can set weights to exactly zero, so it also picks the features that matter. "
        "Useful when you suspect only a few features count.",
    ),
    ModelSpec(
        key="decision_tree_clf",
        label="Decision tree",
        family="tree",
        tasks=_CLASSIFICATION,
        params=_tree_params(classifier=True),
        build=_build_tree,
        explainer="tree",
        help="A flowchart of yes/no questions about the features. Easy to draw and explain, but one tree "
        "alone is less accurate than a forest.",
        supports_class_weight=True,
    ),
    ModelSpec(
        key="decision_tree_reg",
        label="Decision tree",
        family="tree",
        tasks=_REGRESSION,
        params=_tree_params(classifier=False),
        build=_build_tree,
        explainer="tree",
        help="A flowchart of yes/no questions that ends in an average value. Easy to draw and explain, but "
        "one tree alone is less accurate than a forest.",
    ),
    ModelSpec(
        key="random_forest_clf",
        label="Random forest",
        family="ensemble",
        tasks=_CLASSIFICATION,
        params=_forest_params(classifier=True),
        build=_build_forest,
        explainer="tree",
        help="Hundreds of decision trees, each trained on a random part of the data, vote together. Robust "
        "with little tuning and hard to overfit badly.",
        supports_class_weight=True,
        staged=True,
        recommended=_CLASSIFICATION,
    ),
    ModelSpec(
        key="random_forest_reg",
        label="Random forest",
        family="ensemble",
        tasks=_REGRESSION,
        params=_forest_params(classifier=False),
        build=_build_forest,
        explainer="tree",
        help="Hundreds of decision trees, each trained on a random part of the data, average their answers. "
        "Robust with little tuning and hard to overfit badly.",
        staged=True,
    ),
    ModelSpec(
        key="hist_gradient_boosting_clf",
        label="Gradient boosting",
        family="boosting",
        tasks=_CLASSIFICATION,
        params=_hgb_params(),
        build=_build_hgb,
        explainer="tree",
        help="Adds small trees one by one, each fixing the previous ones' mistakes (scikit-learn's fast "
        "histogram version). Among the most accurate models on tables.",
        supports_class_weight=True,
        accepts_sparse=False,
        staged=True,
    ),
    ModelSpec(
        key="hist_gradient_boosting_reg",
        label="Gradient boosting",
        family="boosting",
        tasks=_REGRESSION,
        params=_hgb_params(),
        build=_build_hgb,
        explainer="tree",
        help="Adds small trees one by one, each fixing the previous ones' mistakes (scikit-learn's fast "
        "histogram version). Among the most accurate models on tables.",
        accepts_sparse=False,
        staged=True,
        recommended=_REGRESSION,
    ),
    ModelSpec(
        key="lightgbm_clf",
        label="LightGBM",
        family="boosting",
        tasks=_CLASSIFICATION,
        params=_lightgbm_params(),
        build=_build_lightgbm,
        explainer="tree",
        help="Microsoft's gradient boosting library: trees added one by one, each fixing earlier mistakes. "
        "Very fast on large tables and often the most accurate.",
        supports_class_weight=True,
        staged=True,
        recommended=_CLASSIFICATION,
    ),
    ModelSpec(
        key="lightgbm_reg",
        label="LightGBM",
        family="boosting",
        tasks=_REGRESSION,
        params=_lightgbm_params(),
        build=_build_lightgbm,
        explainer="tree",
        help="Microsoft's gradient boosting library: trees added one by one, each fixing earlier mistakes. "
        "Very fast on large tables and often the most accurate.",
        staged=True,
        recommended=_REGRESSION,
    ),
    ModelSpec(
        key="svm_clf",
        label="Support vector machine",
        family="svm",
        tasks=_CLASSIFICATION,
        params=_svm_params(regression=False),
        build=_build_svc,
        explainer="kernel",
        help="Draws the widest possible boundary between the classes, curved if needed. Strong on small and "
        "medium tables; slow beyond some tens of thousands of rows.",
        supports_class_weight=True,
    ),
    ModelSpec(
        key="svr",
        label="Support vector regression",
        family="svm",
        tasks=_REGRESSION,
        params=_svm_params(regression=True),
        build=_build_svr,
        explainer="kernel",
        help="Fits a curve that keeps most rows within a small tolerance band. Good on small and medium "
        "tables; slow beyond some tens of thousands of rows.",
        scale_target=True,
    ),
    ModelSpec(
        key="knn_clf",
        label="Nearest neighbours",
        family="neighbors",
        tasks=_CLASSIFICATION,
        params=_knn_params(),
        build=_build_knn,
        explainer="kernel",
        help="Looks up the most similar training rows and lets them vote. Simple to grasp; works best with "
        "few, scaled features.",
    ),
    ModelSpec(
        key="knn_reg",
        label="Nearest neighbours",
        family="neighbors",
        tasks=_REGRESSION,
        params=_knn_params(),
        build=_build_knn,
        explainer="kernel",
        help="Predicts the average of the most similar training rows. Simple to grasp; works best with few, "
        "scaled features.",
    ),
    ModelSpec(
        key="naive_bayes",
        label="Naive Bayes",
        family="bayes",
        tasks=_CLASSIFICATION,
        params=(
            FloatParam(
                name="var_smoothing",
                label="Smoothing",
                default=1e-9,
                low=1e-12,
                high=1.0,
                log=True,
                help="Adds a little spread to every feature so rare values do not dominate; raise it on noisy data.",
            ),
        ),
        build=_build_naive_bayes,
        explainer="kernel",
        help="Treats each feature as independent evidence for a class and combines them with Bayes' rule. "
        "Very fast and a sensible quick check, though rarely the most accurate.",
        accepts_sparse=False,
    ),
    ModelSpec(
        key="keras_mlp",
        label="Neural network (Keras)",
        family="neural",
        tasks=_SUPERVISED,
        params=_keras_params(),
        build=_build_keras,
        explainer="kernel",
        help="Layers of connected units that learn their own feature combinations, trained epoch by epoch. "
        "Flexible and fun to watch; on ordinary tables it needs more care than boosted trees.",
        supports_class_weight=True,
        accepts_sparse=False,
        staged=True,
        recommended=_SUPERVISED,
        needs_tensorflow=True,
        check=_check_keras,
    ),
    ModelSpec(
        key="kmeans",
        label="K-means",
        family="clustering",
        tasks=_CLUSTERING,
        params=(
            _n_clusters(),
            IntParam(
                name="n_init",
                label="Restarts",
                default=10,
                low=1,
                high=50,
                advanced=True,
                help="Runs from this many random starts and keeps the best grouping; more is steadier.",
            ),
            IntParam(
                name="max_iter",
                label="Maximum iterations",
                default=300,
                low=10,
                high=10_000,
                log=True,
                advanced=True,
                help="Upper limit on refinement steps per start.",
            ),
        ),
        build=_build_kmeans,
        explainer="kernel",
        help="Splits the rows into a chosen number of round groups around centre points. Fast and easy to "
        "explain; you choose how many groups.",
        recommended=_CLUSTERING,
    ),
    ModelSpec(
        key="dbscan",
        label="DBSCAN",
        family="clustering",
        tasks=_CLUSTERING,
        params=(
            FloatParam(
                name="eps",
                label="Neighbourhood radius",
                default=0.5,
                low=0.001,
                high=1000.0,
                log=True,
                help="How close rows must be to count as neighbours (in scaled units); larger merges more groups.",
            ),
            IntParam(
                name="min_samples",
                label="Rows to form a group",
                default=5,
                low=1,
                high=1000,
                log=True,
                help="How many close neighbours make a dense core; larger values leave more rows as noise.",
            ),
            ChoiceParam(
                name="metric",
                label="Distance",
                default="euclidean",
                choices=("euclidean", "manhattan", "cosine"),
                advanced=True,
                help="How similarity between rows is measured.",
            ),
        ),
        build=_build_dbscan,
        explainer="kernel",
        help="Finds dense regions of any shape and marks isolated rows as noise (group -1). You do not choose "
        "the number of groups, only how dense a group must be.",
    ),
    ModelSpec(
        key="agglomerative",
        label="Agglomerative clustering",
        family="clustering",
        tasks=_CLUSTERING,
        params=(
            _n_clusters(),
            ChoiceParam(
                name="linkage",
                label="Linkage",
                default="ward",
                choices=("ward", "complete", "average", "single"),
                labels={
                    "ward": "Ward: compact groups of similar size",
                    "complete": "complete: farthest members",
                    "average": "average distance",
                    "single": "single: nearest members (chains)",
                },
                help="How the distance between two groups is measured when deciding which to merge.",
            ),
        ),
        build=_build_agglomerative,
        explainer="kernel",
        accepts_sparse=False,
        help="Starts with every row as its own group and keeps merging the two closest groups. Shows a "
        "hierarchy; needs memory that grows with the square of the rows, so suits up to some thousands.",
    ),
)

REGISTRY: dict[str, ModelSpec] = {spec.key: spec for spec in _CATALOGUE}
if len(REGISTRY) != len(_CATALOGUE):
    raise ValueError("Duplicate model keys in the catalogue")
