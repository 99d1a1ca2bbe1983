"""A model ready for new rows: its input schema and the fitted pipeline, wherever it came from.

Every model the app can use -- one trained in this session, one restored from an
exported bundle, one reloaded from experiment tracking -- is a :class:`UsableModel`:
the fitted pipeline plus what is needed to feed it (the :class:`FeatureSchema`
learned from the training split) and to describe it (the model card, :mod:`core.model_card`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.features import feature_sources
from core.schema import Role
from core.target import Task, resolve_positive

#: Categories listed per column in the schema (select boxes, unseen-category checks).
MAX_CATEGORIES = 200


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class ColumnSchema:
    """What one input column looked like in the training split.

    ``kind`` drives the input widget: ``number``, ``category``, ``date`` or ``text``.
    ``categories`` lists the values seen (most frequent first, at most
    :data:`MAX_CATEGORIES`; ``complete`` says whether that is all of them).
    """

    name: str
    role: str
    kind: str
    dtype: str
    minimum: float | None = None
    maximum: float | None = None
    median: float | None = None
    integer: bool = False
    categories: tuple[str, ...] = ()
    complete: bool = True
    missing_share: float = 0.0
    example: Any = None
    earliest: str | None = None  # dates: ISO day of the first and last date seen
    latest: str | None = None

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ColumnSchema:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["categories"] = tuple(str(c) for c in known.get("categories", ()))
        return cls(**known)


@dataclass(frozen=True)
class FeatureSchema:
    """The model's input columns, in order."""

    columns: tuple[ColumnSchema, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSchema:
        try:
            return cls(tuple(ColumnSchema.from_dict(c) for c in data["columns"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DashboardError(f"The feature schema is not readable: {exc}.") from None

    @classmethod
    def from_frame(cls, X: pd.DataFrame, roles: dict[str, Role]) -> FeatureSchema:
        """Learn the schema from the training rows ``X`` (never from validation or test)."""
        return cls(tuple(_column_schema(X[name], Role(roles.get(name, Role.CATEGORICAL))) for name in X.columns))


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def _column_schema(values: pd.Series, role: Role) -> ColumnSchema:
    name = str(values.name)
    present = values.dropna()
    missing = float(values.isna().mean()) if len(values) else 0.0
    example = _plain(present.iloc[0]) if len(present) else None
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    if role == Role.NUMERIC and numeric:
        finite = pd.to_numeric(present, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
        integer = bool(len(finite)) and bool((finite == finite.round()).all())
        return ColumnSchema(
            name,
            role.value,
            "number",
            str(values.dtype),
            _plain(float(finite.min())) if len(finite) else None,
            _plain(float(finite.max())) if len(finite) else None,
            _plain(float(finite.median())) if len(finite) else None,
            integer,
            missing_share=missing,
            example=example,
        )
    if role == Role.DATETIME:
        dates = present if pd.api.types.is_datetime64_any_dtype(values.dtype) else None
        if dates is None:
            dates = pd.to_datetime(present.astype(str), errors="coerce", format="mixed").dropna()
        low = dates.min().date().isoformat() if len(dates) else None
        high = dates.max().date().isoformat() if len(dates) else None
        return ColumnSchema(
            name,
            role.value,
            "date",
            str(values.dtype),
            missing_share=missing,
            example=example,
            earliest=low,
            latest=high,
        )
    if role == Role.TEXT:
        return ColumnSchema(name, role.value, "text", str(values.dtype), missing_share=missing, example=example)
    counts = present.astype(str).value_counts()
    categories = tuple(str(c) for c in counts.index[:MAX_CATEGORIES])
    return ColumnSchema(
        name,
        role.value,
        "category",
        str(values.dtype),
        categories=categories,
        complete=len(counts) <= MAX_CATEGORIES,
        missing_share=missing,
        example=example,
    )


# --------------------------------------------------------------------------- the model


@dataclass
class UsableModel:
    """A fitted pipeline ready for new rows, wherever it came from."""

    name: str
    key: str
    pipeline: Any
    task: Task
    target: str | None
    schema: FeatureSchema
    card: dict = field(default_factory=dict)
    #: A few training rows (raw columns) for explanations; may be None for restored models.
    background: pd.DataFrame | None = None
    classes: list = field(default_factory=list)
    origin: str = "this session"

    @property
    def positive(self) -> Any:
        """Binary: the class its probabilities and explanations are about (from the card; older cards: the rule)."""
        if self.task != Task.BINARY or len(self.classes) != 2:
            return None
        return resolve_positive(self.classes, self.card.get("positive_class"))

    @property
    def sources(self) -> list[tuple[str, tuple[str, ...]]]:
        """Each model input feature and the source columns it comes from (for explanations)."""
        return feature_sources(self.pipeline)
