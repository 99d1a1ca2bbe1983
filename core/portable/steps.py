"""A fitted pipeline read step by step: what each step becomes in a portable file, or which step has no portable form.

:func:`layout` walks the app's pipeline (:func:`core.features.build_pipeline`) and returns a :class:`Layout`:
the inputs a file takes (one per column of the person's table the model uses), the steps before the
column transformer as plain data (ratios, clipping bounds), a twin of the column transformer whose
categorical branches are :class:`CategoryCodes` (their fitted behaviour as lookup tables, measured on the
fitted encoder itself), and the estimator. A step that has no portable form raises
:class:`~core.portable.result.NotPortable` naming it in plain words. No ONNX library is imported here.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PolynomialFeatures, StandardScaler

from core.cleaning import TYPE_FIXES
from core.features import feature_sources
from core.keras_net import KerasNetwork
from core.portable.result import NotPortable
from core.transformers import OutlierClipper, RatioFeatures, TypeFixer, ratio_name

#: A value no table holds: where the fitted encoder puts a category it never saw is measured with it.
UNSEEN = "\x00unseen category\x00"
#: Pipeline steps without an ONNX form, in plain words (others are named by their class).
STEP_WORDS = {
    "past": "features from earlier rows: lags and moving windows, which need the rows before each row",
}
#: Steps of a numeric branch with an ONNX converter in skl2onnx.
NUMERIC_STEPS = (SimpleImputer, PolynomialFeatures, StandardScaler)


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Stand-in for a categorical branch (text, fill, one-hot or ordinal codes) as lookup tables.

    Per column: the fill for a missing value, each known category's position in the column's block of
    one-hot outputs (or its ordinal code), and where an unseen category goes (-1: nowhere, all zeros or
    missing). Built by :func:`category_codes` from the fitted branch; converted to ONNX by
    :mod:`core.portable.converters`. ``transform`` reproduces the branch on text, for tests.
    """

    def __init__(self, fills=(), keys=(), codes=(), unseen=(), widths=(), ordinal=False) -> None:
        self.fills = fills
        self.keys = keys
        self.codes = codes
        self.unseen = unseen
        self.widths = widths
        self.ordinal = ordinal

    def fit(self, X: Any, y: Any = None) -> CategoryCodes:
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=object)
        blocks = []
        for j, fill in enumerate(self.fills):
            lookup = dict(zip(self.keys[j], self.codes[j], strict=True))
            column = [
                fill if v is None or v == "" or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values[:, j]
            ]
            index = np.array([lookup.get(v, self.unseen[j]) for v in column], dtype=float)
            if self.ordinal:
                blocks.append(np.where(index < 0, np.nan, index)[:, None])
            else:
                blocks.append((index[:, None] == np.arange(self.widths[j])[None, :]).astype(float))
        return np.hstack(blocks) if blocks else np.empty((len(values), 0))


class NumberFill(TransformerMixin, BaseEstimator):
    """Stand-in for a numeric imputer: a missing value (NaN) takes its column's learned fill.

    ONNX-ML's ``Imputer`` works in 32-bit floats only; this one keeps the 64-bit numbers the app computes with.
    """

    def __init__(self, fills=()) -> None:
        self.fills = fills

    def fit(self, X: Any, y: Any = None) -> NumberFill:
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=np.float64)
        return np.where(np.isnan(values), np.asarray(self.fills, dtype=np.float64)[None, :], values)


def number_fill(branch: SkPipeline) -> SkPipeline:
    """A numeric branch with its imputer as :class:`NumberFill` (the other steps, fitted, as they are)."""
    steps = []
    for name, step in branch.steps:
        if isinstance(step, SimpleImputer):
            if not (isinstance(step.missing_values, float) and np.isnan(step.missing_values)):
                raise NotPortable(name, "a fill for values other than missing numbers has no ONNX form here")
            step = NumberFill(tuple(float(v) for v in step.statistics_))
        steps.append((name, step))
    return SkPipeline(steps)


def category_codes(branch: SkPipeline, columns: list[str]) -> CategoryCodes:
    """The lookup tables of a fitted categorical branch, measured by passing every known category through it."""
    imputer = branch.named_steps["impute"]
    encoder = branch.steps[-1][1]
    if not isinstance(encoder, OneHotEncoder | OrdinalEncoder):
        raise NotPortable("categories", f"the categories of {_names(columns)} are encoded by a step with no ONNX form")
    ordinal = isinstance(encoder, OrdinalEncoder)
    categories = [[str(c) for c in cats] for cats in encoder.categories_]
    rows = max(len(c) for c in categories) + 1
    probe = np.empty((rows, len(categories)), dtype=object)
    for j, known in enumerate(categories):
        values = [*known, UNSEEN]
        probe[:, j] = values + [values[0]] * (rows - len(values))
    given = pd.DataFrame(probe, columns=encoder.feature_names_in_) if hasattr(encoder, "feature_names_in_") else probe
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unseen category warns; where it goes is what is measured
        out = encoder.transform(given)
    out = np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=float)
    widths = [1] * len(categories) if ordinal else [int(w) for w in encoder._n_features_outs]
    if sum(widths) != out.shape[1]:
        raise NotPortable("categories", f"the one-hot columns of {_names(columns)} could not be mapped to ONNX")
    codes, unseen, start = [], [], 0
    for j, known in enumerate(categories):
        block = out[: len(known) + 1, start : start + widths[j]]
        start += widths[j]
        positions = [_position(row, ordinal, columns[j]) for row in block]
        codes.append(tuple(positions[:-1]))
        unseen.append(positions[-1])
    fills = tuple(str(v) for v in imputer.statistics_)
    return CategoryCodes(
        fills, tuple(tuple(c) for c in categories), tuple(codes), tuple(unseen), tuple(widths), ordinal
    )


def _position(row: np.ndarray, ordinal: bool, column: str) -> int:
    """Where one category lands: its code, or its one-hot position (-1: missing code, or no column at all)."""
    if ordinal:
        return -1 if np.isnan(row[0]) else int(row[0])
    hot = np.flatnonzero(row)
    if len(hot) > 1 or (len(hot) == 1 and row[hot[0]] != 1.0):
        raise NotPortable("categories", f"the one-hot columns of '{column}' are not one per category")
    return int(hot[0]) if len(hot) else -1


def _names(columns: list[str] | str) -> str:
    columns = [columns] if isinstance(columns, str) else list(columns)
    shown = ", ".join(f"'{c}'" for c in columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    return ("the column " if len(columns) == 1 else "the columns ") + shown


@dataclass
class Layout:
    """A fitted pipeline as a portable file sees it (see the module docs)."""

    #: (column, "double" | "string") for every column of the person's table the model uses, in table order.
    inputs: list[tuple[str, str]]
    #: The plan's type fixes of those columns: a file takes the values after them.
    fixes: dict[str, str]
    ratios: tuple[tuple[str, str], ...]
    #: column -> (low, high): the clipping bounds learned on the training rows (None: no bound).
    clip: dict[str, tuple[float | None, float | None]]
    #: The column transformer with its categorical branches as :class:`CategoryCodes`.
    columns: Any
    #: What the column transformer reads, in order: input columns and ratio columns.
    column_inputs: list[str]
    model: Any
    notes: list[str] = field(default_factory=list)

    @property
    def is_network(self) -> bool:
        return isinstance(self.model, KerasNetwork)

    @property
    def model_is_classifier(self) -> bool:
        return bool(is_classifier(self.model))


def layout(pipeline: Any, schema_names: list[str]) -> Layout:
    """Read ``pipeline`` (fitted) as a portable file sees it.

    Raises:
        NotPortable: naming the first step that has no portable form.
    """
    steps = list(pipeline.steps)
    fixes: dict[str, str] = {}
    ratios: tuple[tuple[str, str], ...] = ()
    clip: dict[str, tuple[float | None, float | None]] = {}
    notes: list[str] = []
    columns: ColumnTransformer | None = None
    for name, step in steps[:-1]:
        if hasattr(step, "fit_resample"):
            notes.append(f"The step '{name}' changes the training rows only; it has no part in predictions.")
            continue
        if isinstance(step, TypeFixer):
            fixes = dict(step.fixes or {})
        elif isinstance(step, RatioFeatures):
            ratios = tuple((str(a), str(b)) for a, b in step.pairs)
        elif isinstance(step, OutlierClipper):
            clip = {str(c): (_bound(low), _bound(high)) for c, (low, high) in step.bounds_.items()}
        elif isinstance(step, ColumnTransformer) and name == "columns":
            columns = step
        else:
            words = STEP_WORDS.get(name, type(step).__name__)
            raise NotPortable(name, f"the step '{name}' ({words}) has no ONNX form")
    if columns is None:
        raise NotPortable("columns", "the model has no column step the app built")
    estimator = steps[-1][1]
    categorical = getattr(getattr(estimator, "regressor_", estimator), "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        raise NotPortable(
            "model",
            "the step 'model' splits on categories itself (a category column with many levels), "
            "which the ONNX converter cannot write",
        )
    twin, used, kinds = _twin(columns)
    ratio_columns = {ratio_name(a, b): (a, b) for a, b in ratios}
    for a, b in ratio_columns.values():
        kinds.setdefault(a, "double")
        kinds.setdefault(b, "double")
    inputs = [(c, kinds[c]) for c in schema_names if c in kinds and c not in ratio_columns]
    missing = [c for c in kinds if c not in ratio_columns and c not in schema_names]
    if missing:
        raise NotPortable("columns", f"the model reads {_names(missing)}, which its input schema lacks")
    notes += [
        f"'{c}' goes in {TYPE_FIXES[fix]}, as the cleaning plan converts it." for c, fix in fixes.items() if c in kinds
    ]
    return Layout(
        inputs,
        {c: f for c, f in fixes.items() if c in kinds},
        ratios,
        clip,
        twin,
        used,
        estimator,
        notes,
    )


def _bound(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _twin(columns: ColumnTransformer) -> tuple[ColumnTransformer, list[str], dict[str, str]]:
    """A copy of the fitted column transformer with categorical branches as :class:`CategoryCodes`.

    Returns the copy, the columns it reads (in order) and each column's input type.
    """
    branches = []
    used: list[str] = []
    kinds: dict[str, str] = {}
    for name, transformer, cols in columns.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            branches.append((name, transformer, cols))
            continue
        listed = [cols] if isinstance(cols, str) else [str(c) for c in cols]
        if name.startswith("datetime"):
            raise NotPortable("dates", f"the step 'dates' (calendar parts of {_names(listed)}) has no ONNX form")
        if name.startswith("text"):
            tfidf = isinstance(transformer, SkPipeline) and isinstance(transformer.steps[-1][1], TfidfVectorizer)
            raise NotPortable(
                "text",
                f"the step 'text' (TF-IDF word weights of {_names(listed)}) has no ONNX form: it strips accents "
                "and counts word pairs, which ONNX's tokenizer cannot repeat"
                if tfidf
                else f"the step 'text' (the words of {_names(listed)}, read by the model itself) has no ONNX form",
            )
        if name == "sequence_keys":
            raise NotPortable(
                name,
                f"the step 'sequence_keys' (the rows' order and entity, {_names(listed)}, by which a sequence network "
                "gathers each row's window of earlier rows) has no ONNX form",
            )
        if name.startswith("categorical"):
            transformer = category_codes(transformer, listed)
            kind = "string"
        elif name.startswith("numeric") and all(isinstance(s, NUMERIC_STEPS) for _, s in transformer.steps):
            transformer = number_fill(transformer)
            kind = "double"
        else:
            raise NotPortable(name, f"the step '{name}' of {_names(listed)} has no ONNX form")
        branches.append((name, transformer, cols))
        for column in listed:
            kinds[column] = kind
            used.append(column)
    twin = copy.copy(columns)
    twin.transformers_ = branches
    return twin, list(dict.fromkeys(used)), kinds


def feature_names(pipeline: Any) -> list[str]:
    """The preprocessed features the estimator receives, in order (the app's own names for them)."""
    return [name for name, _ in feature_sources(pipeline)]
