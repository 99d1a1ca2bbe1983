"""Typed hyperparameter specs: what a form shows for one parameter and which values it accepts.

Each :class:`ParamSpec` (:class:`IntParam`, :class:`FloatParam`, :class:`ChoiceParam`,
:class:`BoolParam`; a network's :class:`core.network_rules.LayersParam`) knows its range or choices, default,
label and one line of help; it validates a form value (raising :class:`ParamError`
worded like scikit-learn: "The 'n_estimators' parameter of Random forest must be
an int in the range [1, 2000]. Got 0.") and draws random values for random search.
The model specs that group these live in :mod:`core.models_catalogue`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import DashboardError


class ParamError(DashboardError):
    """A parameter value that a model cannot take; ``param`` names the parameter when known."""

    def __init__(self, user_message: str, *, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(user_message, hint=hint)
        self.param = param


# --------------------------------------------------------------------------- value coercion


def show_value(value: Any, limit: int = 60) -> str:
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
            f"The '{self.name}' parameter of {model_label} must be {expected}. Got {show_value(value)}.",
            param=self.name,
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
        return "one of " + ", ".join(show_value(choice) for choice in self.choices)

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
