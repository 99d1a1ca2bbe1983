"""The app's own scikit-learn transformers: what a column becomes on its way into a model.

Each is a plain scikit-learn transformer (learned state in ``*_``, ``n_features_in_`` and
``feature_names_in_`` recorded, refused input raising ``ValueError``; ``tests/test_estimator_checks.py``
runs scikit-learn's estimator checks on them). Inside the app they receive DataFrames and find
their columns by name; given an array, they refer to columns by position. :mod:`core.features`
puts them into the pipeline; "Show the code" copies their source into generated scripts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted, check_non_negative, validate_data

from core.cleaning import apply_type_fixes, outlier_bounds

#: Model families also tried on the log of a skewed regression target (``FeatureOptions.log_target``):
#: linear models gain most; trees split the same either way but grow by a different loss.
LOG_TARGET_FAMILIES = ("linear", "tree", "ensemble", "boosting")


class LogTarget(TransformerMixin, BaseEstimator):
    """The target as log(1 + y) for fitting and back as exp(z) − 1 for predictions (values of at least 0).

    Used as ``TransformedTargetRegressor(regressor, transformer=LogTarget())`` (:func:`log_target`),
    which hands it the target as one column, so predictions, and every score computed from them, are
    on the target's own scale. Stateless (as ``FunctionTransformer``): ``fit`` only checks the target
    (numbers of at least 0, as the Models page requires for a log target, in one 2-D column) and
    records ``n_features_in_``.
    """

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.positive_only = True
        return tags

    def fit(self, X: Any, y: Any = None) -> LogTarget:
        check_non_negative(validate_data(self, X, dtype=np.float64), type(self).__name__)
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = validate_data(self, X, reset=False, dtype=np.float64)
        check_non_negative(X, type(self).__name__)
        return np.log1p(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        # Predictions are passed back whatever they are: one that overflowed stays infinite.
        return np.expm1(validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=False))


def log_target(estimator: Any) -> Any:
    """``estimator`` fitted on log(1 + y), predicting on y's scale."""
    return TransformedTargetRegressor(regressor=estimator, transformer=LogTarget())


def _as_table(estimator: BaseEstimator, X: Any, *, reset: bool) -> pd.DataFrame:
    """``X`` as a DataFrame, for the transformers below that know columns by name (``reset``: fitting).

    A DataFrame (what the app's pipelines pass) is used as it is, whatever its dtypes and gaps; fitting
    records ``n_features_in_`` and ``feature_names_in_``, and later frames may add or reorder columns,
    which are found by name (as a ``ColumnTransformer`` finds them). Anything else is checked as
    scikit-learn checks an array (2-D, dense, not complex, not empty when fitting, as many columns as
    in ``fit`` afterwards) and its columns are known by position: 0, 1, …
    """
    if isinstance(X, pd.DataFrame):
        if reset:
            validate_data(estimator, X, skip_check_array=True)
        return X
    X = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=1 if reset else 0)
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    return pd.DataFrame(X)


def _like_input(out: pd.DataFrame, X: Any) -> Any:
    """A DataFrame for a DataFrame, else its values as an array."""
    return out if isinstance(X, pd.DataFrame) else out.to_numpy()


def _require_columns(frame: pd.DataFrame, columns: Any, owner: str) -> None:
    """Refuse, with a ValueError, columns a transformer is set up for that ``frame`` lacks."""
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    if missing:
        names = ", ".join(repr(column) for column in missing[:5])
        raise ValueError(
            f"{owner} uses column(s) {names} that the input lacks: it has {frame.shape[1]} feature(s), "
            "found by name in a DataFrame and by position (0, 1, …) in an array."
        )


def _names_in(estimator: BaseEstimator) -> np.ndarray:
    """The fitted input's column names; ``x0``, ``x1``, … for an array."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        check_is_fitted(estimator, "n_features_in_")
        names = np.asarray([f"x{i}" for i in range(estimator.n_features_in_)], dtype=object)
    return names


def _text_friendly_tags(tags: Tags, *, stateless: bool) -> Tags:
    """Tags of a step that sees the raw table: gaps and text columns are passed on, not refused."""
    tags.input_tags.allow_nan = True
    tags.input_tags.string = True
    tags.requires_fit = not stateless
    return tags


class TypeFixer(TransformerMixin, BaseEstimator):
    """Apply the plan's type fixes (stateless, so new rows are fixed the same way).

    ``fixes`` maps a column (a name in a DataFrame, a position in an array) to a fix; columns the
    input lacks are left alone, as :func:`core.cleaning.apply_type_fixes` does. A DataFrame comes back
    as a DataFrame, an array as an array.
    """

    def __init__(self, fixes: dict[str, str] | None = None) -> None:
        self.fixes = fixes

    def __sklearn_tags__(self) -> Tags:
        return _text_friendly_tags(super().__sklearn_tags__(), stateless=True)

    def fit(self, X: Any, y: Any = None) -> TypeFixer:
        _as_table(self, X, reset=True)
        return self

    def transform(self, X: Any) -> Any:
        fixed, _ = apply_type_fixes(_as_table(self, X, reset=False), dict(self.fixes or {}))
        return _like_input(fixed, X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return _names_in(self)


class RatioFeatures(TransformerMixin, BaseEstimator):
    """Add ``a / b`` columns for chosen numeric pairs (division by zero → missing).

    Columns are names in a DataFrame and positions in an array; the ratios come after the input's
    columns (in a DataFrame named by :func:`ratio_name`).
    """

    def __init__(self, pairs: tuple[tuple[str, str], ...] = ()) -> None:
        self.pairs = pairs

    def __sklearn_tags__(self) -> Tags:
        return _text_friendly_tags(super().__sklearn_tags__(), stateless=True)

    def fit(self, X: Any, y: Any = None) -> RatioFeatures:
        frame = _as_table(self, X, reset=True)
        _require_columns(frame, [column for pair in self.pairs for column in pair], type(self).__name__)
        return self

    def transform(self, X: Any) -> Any:
        frame = _as_table(self, X, reset=False)
        _require_columns(frame, [column for pair in self.pairs for column in pair], type(self).__name__)
        out = frame.copy()
        for a, b in self.pairs:
            denominator = pd.to_numeric(out[b], errors="coerce").replace(0, np.nan)
            out[ratio_name(a, b)] = pd.to_numeric(out[a], errors="coerce") / denominator
        return _like_input(out, X)


def ratio_name(a: str, b: str) -> str:
    """Column name of the ratio feature a / b."""
    return f"{a} / {b}"


class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clip numeric columns to bounds learned in ``fit`` (the training split).

    ``columns`` are names in a DataFrame and positions in an array; values that are not numbers
    become missing in those columns, and the other columns pass through.
    """

    def __init__(self, columns: tuple[str, ...] = (), method: str = "iqr", threshold: float = 1.5) -> None:
        self.columns = columns
        self.method = method
        self.threshold = threshold

    def __sklearn_tags__(self) -> Tags:
        return _text_friendly_tags(super().__sklearn_tags__(), stateless=False)

    def fit(self, X: Any, y: Any = None) -> OutlierClipper:
        frame = _as_table(self, X, reset=True)
        _require_columns(frame, self.columns, type(self).__name__)
        self.bounds_ = {c: outlier_bounds(frame[c], self.method, self.threshold) for c in self.columns}
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "bounds_")
        frame = _as_table(self, X, reset=False)
        _require_columns(frame, self.bounds_, type(self).__name__)
        out = frame.copy()
        for column, (low, high) in self.bounds_.items():
            out[column] = pd.to_numeric(out[column], errors="coerce").clip(low, high)
        return _like_input(out, X)


def remove_outliers(X: pd.DataFrame, y: Any, columns: tuple[str, ...], method: str, threshold: float):
    """Drop rows with an outlier; used by a sampler, so only training rows go."""
    keep = pd.Series(True, index=X.index)
    for column in columns:
        values = pd.to_numeric(X[column], errors="coerce")
        low, high = outlier_bounds(values, method, threshold)
        keep &= ~((values < low) | (values > high))
    mask = keep.to_numpy()
    y_kept = y[mask] if not isinstance(y, pd.Series) else y.iloc[mask]
    return X.iloc[mask], y_kept


#: What a date becomes for the models (:class:`DateParts`), in that order; "hour" only when the values have times.
DATE_PARTS = ("year", "month", "day of week", "hour", "days")


def date_feature_note(columns: list[str]) -> str | None:
    """A caution for date columns used as features: the model can learn *when* rather than *why*.

    ``None`` when ``columns`` is empty. The parts named are the ones
    :class:`DateParts` makes.
    """
    if not columns:
        return None
    names = ", ".join(f"'{c}'" for c in columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    year, month, weekday, hour, days = DATE_PARTS
    return (
        f"{names} {'goes' if len(columns) == 1 else 'go'} into the model as {year}, {month}, {weekday} "
        f"({hour} too when the values have times) and a day count ({days} since 1970-01-01). The {year} and the "
        "day count say when a row happened: the model may learn the period rather than the pattern, and "
        "new rows will come from after every training row. Order the split by time to see whether the date "
        "still helps on the newest rows, or untick it on the Target page."
    )


class DateParts(TransformerMixin, BaseEstimator):
    """Turn datetime columns into numbers: year, month, day of week, hour, and days (see :data:`DATE_PARTS`).

    Values that are not dates yet are parsed (what cannot be becomes missing); the columns of an
    array are known by position.
    """

    def __sklearn_tags__(self) -> Tags:
        return _text_friendly_tags(super().__sklearn_tags__(), stateless=False)

    def fit(self, X: Any, y: Any = None) -> DateParts:
        frame = self._as_dates(_as_table(self, X, reset=True))
        # Keyed by column (name or position), in the input's order: transform reads the columns from it.
        self.with_hour_ = {c: bool((frame[c].dt.hour.fillna(0) != 0).any()) for c in frame.columns}
        return self

    def _as_dates(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = pd.DataFrame(X).copy()
        for column in frame.columns:
            if not pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
                frame[column] = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        return frame

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "with_hour_")
        table = _as_table(self, X, reset=False)
        _require_columns(table, self.with_hour_, type(self).__name__)
        frame = self._as_dates(table[list(self.with_hour_)])
        parts = []
        for column, with_hour in self.with_hour_.items():
            d = frame[column].dt
            parts += [d.year, d.month, d.day_of_week]
            if with_hour:
                parts.append(d.hour)
            epoch = frame[column].astype("datetime64[s]").astype("int64").astype(float) / 86_400
            parts.append(epoch.where(frame[column].notna()))
        return np.column_stack([np.asarray(p, dtype=float) for p in parts]) if parts else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = []
        year, month, weekday, hour, days = DATE_PARTS
        for column, with_hour in zip(_names_in(self), self.with_hour_.values(), strict=True):
            names += [f"{column} ({year})", f"{column} ({month})", f"{column} ({weekday})"]
            if with_hour:
                names.append(f"{column} ({hour})")
            names.append(f"{column} ({days})")
        return np.asarray(names, dtype=object)
