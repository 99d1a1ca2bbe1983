"""Features from earlier rows: lags, moving windows, changes, time since the previous row, calendar parts.

Data that arrives over time (daily demand per region, a machine's sensor readings) carries
information in its *past*: yesterday's temperature, the mean of the last week, how much a
reading moved since the last one. :class:`TimeSetup` is the person's choice (plain data, JSON),
:class:`PastFeatures` the scikit-learn transformer that builds the columns inside the model's
pipeline, before the column transformer, so the new columns are imputed and scaled like any
other number and everything is fitted on training rows only.

**Only the past.** Within its entity (a machine, a store; one sequence when there is none), rows
are ordered by the order column (rows with the same time keep the order they come in; rows
without a time come last) or by the rows' order as loaded. A lag, a change and the time since
the previous row read *strictly earlier* rows; a moving window ends *at the row itself* (the
row's own value is known when it is predicted). Rows without enough past get missing values,
which the numeric imputer after this step fills (with a value learned on training rows).
:func:`core.guards.time_leak.future_reads` checks this on the training rows.

**History.** Fitting remembers the last ``depth`` rows of every entity (the longest lag or
window), so rows transformed later — validation and test rows, a new row on the Predict page —
take their past from the rows the model was fitted on, followed by the rows given with them:
rows transformed together are one another's past. Transforming the fitted rows again (a
training score) gives what fitting gave: an entity whose remembered rows all come again is
read from the rows given alone.

How rows follow one another (the ordering per entity, which columns can name an entity) is
:mod:`core.time_order`, shared with the leak check and the sequence networks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from core.errors import DashboardError
from core.schema import Role
from core.split import SplitConfig
from core.time_order import OrderedRows, entity_codes, order_keys, order_values, row_hashes, sort_rows
from core.transformers import _as_table, _names_in, _require_columns, _text_friendly_tags

# --------------------------------------------------------------------------- what may be built, once

#: Statistics a moving window can give, in the order they are offered.
STATS = ("mean", "min", "max", "std")
#: Calendar parts of the order date, in the order they are offered. Cyclic parts only: the year or a
#: day count (which :class:`core.transformers.DateParts` adds for a date feature) say *when* a row
#: happened, which new rows never repeat.
CALENDAR_PARTS = ("day of week", "day of month", "day of year", "week of year", "month", "quarter", "weekend")

#: What a new time setup starts with.
DEFAULT_LAGS = (1, 2, 3)
DEFAULT_WINDOWS = (3, 7)
DEFAULT_STATS = ("mean",)
DEFAULT_CALENDAR = ("day of week", "month")
#: How many numeric columns a new setup looks back on (the first ones of the features).
DEFAULT_SOURCE_COUNT = 3

#: Limits: the largest lag, the longest window (rows), the source columns, the new columns in all.
MAX_LAG = 60
MAX_WINDOW = 365
MAX_SOURCE_COLUMNS = 20
MAX_NEW_COLUMNS = 200
#: Remembered rows (``depth`` per entity) travel with the model in its bundle; beyond this, fitting
#: refuses (an ID-like entity with a row each, or windows of a year over thousands of entities).
MAX_HISTORY_ROWS = 500_000

#: The name of the column that says how long ago an entity's previous row was.
SINCE_PREVIOUS = "days since previous"
#: In words, why lag features need a time-ordered split (the Models page shows it).
SHUFFLED_LEAK = (
    "Features from earlier rows need the split ordered in time. With shuffled rows, a training row's "
    "'previous day' can be a validation or test row, and a validation row's moving average can include "
    "training rows from after it: the model learns from the future it is then scored on, and its scores "
    "are better than it will ever do on new rows."
)


def lag_name(column: Any, lag: int) -> str:
    return f"{column} lag {lag}"


def window_name(column: Any, stat: str, window: int) -> str:
    return f"{column} {stat} of last {window}"


def change_name(column: Any) -> str:
    return f"{column} change"


def calendar_name(order: Any, part: str) -> str:
    return f"{order} ({part})"


class TimeSetupError(DashboardError):
    """A time setup that cannot be built as asked."""


# --------------------------------------------------------------------------- the person's choice


def _ints(values: Iterable[Any], what: str, low: int, high: int) -> tuple[int, ...]:
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= int(value) <= high:
            raise TimeSetupError(
                f"{what} must be whole numbers from {low} to {high}. Got {value!r}.",
                hint=f"Pick {what.lower()} of at most {high} rows.",
            )
        out.append(int(value))
    return tuple(sorted(set(out)))


def _words(values: Iterable[Any], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    values = tuple(values)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise TimeSetupError(f"Unknown {what}: {', '.join(map(repr, unknown))}.", hint=f"Use {', '.join(allowed)}.")
    return tuple(v for v in allowed if v in values)


@dataclass(frozen=True)
class TimeSetup:
    """Which features to build from earlier rows, and how rows follow one another.

    Attributes:
        order: The column that orders rows in time (dates or numbers); ``None``: the rows' order as loaded.
        entity: The column whose values each have their own sequence (machine, store, customer); ``None``: one.
        columns: The numeric columns to look back on.
        lags: Each column's value this many rows back.
        windows: Moving windows of this many rows, ending at the row itself ...
        stats: ... each giving these statistics (:data:`STATS`).
        changes: The value minus the previous row's.
        since_previous: Days since the entity's previous row (with a date order only).
        calendar: Parts of the order date (:data:`CALENDAR_PARTS`; with a date order only).
    """

    order: str | None = None
    entity: str | None = None
    columns: tuple[str, ...] = ()
    lags: tuple[int, ...] = DEFAULT_LAGS
    windows: tuple[int, ...] = DEFAULT_WINDOWS
    stats: tuple[str, ...] = DEFAULT_STATS
    changes: bool = True
    since_previous: bool = True
    calendar: tuple[str, ...] = DEFAULT_CALENDAR

    def __post_init__(self) -> None:
        for name in ("order", "entity"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise TimeSetupError(f"The {name} column must be a column name. Got {value!r}.")
        if self.order is not None and self.order == self.entity:
            raise TimeSetupError(
                f"'{self.order}' cannot both order the rows and name the entity.",
                hint="Pick another entity column, or none.",
            )
        columns = tuple(dict.fromkeys(self.columns))
        if not all(isinstance(c, str) and c for c in columns):
            raise TimeSetupError("The columns to look back on must be column names.")
        keys = [c for c in columns if c in (self.order, self.entity)]
        if keys:
            raise TimeSetupError(
                f"'{keys[0]}' orders the rows or names the entity: it cannot also be looked back on.",
                hint="Untick it among the columns to look back on.",
            )
        if len(columns) > MAX_SOURCE_COLUMNS:
            raise TimeSetupError(
                f"At most {MAX_SOURCE_COLUMNS} columns can be looked back on. Got {len(columns)}.",
                hint="Keep the columns that matter most.",
            )
        for flag in ("changes", "since_previous"):
            if not isinstance(getattr(self, flag), bool | np.bool_):
                raise TimeSetupError(f"'{flag}' must be true or false. Got {getattr(self, flag)!r}.")
        values = {
            "columns": columns,
            "lags": _ints(self.lags, "Lags", 1, MAX_LAG),
            "windows": _ints(self.windows, "Windows", 2, MAX_WINDOW),
            "stats": _words(self.stats, STATS, "window statistics"),
            "calendar": _words(self.calendar, CALENDAR_PARTS, "calendar parts"),
            "changes": bool(self.changes),
            "since_previous": bool(self.since_previous),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        count = len(self.new_columns(dates=True))
        if count > MAX_NEW_COLUMNS:
            raise TimeSetupError(
                f"These choices make {count} new columns; at most {MAX_NEW_COLUMNS} are allowed.",
                hint="Look back on fewer columns or pick fewer lags, windows or statistics.",
            )

    @property
    def depth(self) -> int:
        """How many earlier rows a row's features can read (what fitting remembers per entity)."""
        return past_depth(self.lags, self.windows, self.changes or self.since_previous)

    def new_columns(self, *, dates: bool) -> list[str]:
        """The new columns' names, in order (``dates``: the order column holds dates)."""
        return list(self.sources(dates=dates))

    def sources(self, *, dates: bool) -> dict[str, str]:
        """Each new column → the column it is made from (the order column for calendar parts and the time since)."""
        return past_feature_sources(
            self.order, self.columns, self.lags, self.windows, self.stats, self.changes,
            self.since_previous and dates and self.order is not None,
            self.calendar if dates and self.order is not None else (),
        )  # fmt: skip

    def dated(self, roles: Mapping[str, Role]) -> bool:
        """Whether the order column holds dates (by its role after cleaning): calendar parts and the time since
        the previous row are built only then."""
        return self.order is not None and roles.get(self.order) == Role.DATETIME

    def key_columns(self) -> list[str]:
        """The columns that order the rows and name the entity (the pipeline needs them as inputs)."""
        return [c for c in (self.order, self.entity) if c is not None]

    def check_columns(self, columns: Iterable[str]) -> None:
        """Refuse a setup naming columns the table does not have, or making a column it already has."""
        present = set(columns)
        for what, names in (("order", [self.order]), ("entity", [self.entity]), ("look-back", list(self.columns))):
            missing = [c for c in names if c is not None and c not in present]
            if missing:
                raise TimeSetupError(
                    f"The {what} column '{missing[0]}' is not in the table.",
                    hint="Pick it again in the Time and sequences section of the Models page.",
                )
        clash = [c for c in self.new_columns(dates=True) if c in present]
        if clash:
            raise TimeSetupError(
                f"The table already has a column named '{clash[0]}', which a time feature would replace.",
                hint="Rename that column in the file, or switch that feature off.",
            )

    def to_dict(self) -> dict:
        """JSON-safe: lists for tuples."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Any) -> TimeSetup:
        """A setup from :meth:`to_dict` (missing keys take the defaults); refused in words when it is not one."""
        if not isinstance(data, dict):
            raise TimeSetupError(f"A time setup must be a JSON object. Got {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TimeSetupError(f"Unknown time setting(s): {', '.join(map(repr, unknown))}.")
        values = dict(data)
        for name in ("columns", "lags", "windows", "stats", "calendar"):
            if name in values:
                if not isinstance(values[name], list | tuple):
                    raise TimeSetupError(f"The time setting '{name}' must be a list. Got {values[name]!r}.")
                values[name] = tuple(values[name])
        return cls(**values)


def past_depth(lags: Iterable[int], windows: Iterable[int], one_back: bool) -> int:
    """Rows back a row's features can read: the longest lag, the longest window but the row itself, one for a change."""
    return max([*lags, *(w - 1 for w in windows), 1 if one_back else 0, 0])


def past_feature_sources(
    order: Any,
    columns: Iterable[Any],
    lags: Iterable[int],
    windows: Iterable[int],
    stats: Iterable[str],
    changes: bool,
    since_previous: bool,
    calendar: Iterable[str],
) -> dict[str, Any]:
    """The new columns' names, in order, each with the column it is made from."""
    out: dict[str, Any] = {}
    for column in columns:
        for lag in lags:
            out[lag_name(column, lag)] = column
        for window in windows:
            for stat in stats:
                out[window_name(column, stat, window)] = column
        if changes:
            out[change_name(column)] = column
    if since_previous:
        out[SINCE_PREVIOUS] = order
    for part in calendar:
        out[calendar_name(order, part)] = order
    return out


def past_features(setup: TimeSetup, *, dates: bool) -> PastFeatures:
    """The unfitted transformer for ``setup`` (``dates``: the order column holds dates, so calendar parts
    and the time since the previous row can be built; otherwise they are left out)."""
    dated = dates and setup.order is not None
    return PastFeatures(
        order=setup.order,
        entity=setup.entity,
        columns=setup.columns,
        lags=setup.lags,
        windows=setup.windows,
        stats=setup.stats,
        changes=setup.changes,
        since_previous=setup.since_previous and dated,
        calendar=setup.calendar if dated else (),
    )


def split_for(setup: TimeSetup, config: SplitConfig) -> SplitConfig:
    """``config`` cut as time features need: in the setup's time order (or as loaded), per entity."""
    return replace(
        config, time_column=setup.order, in_row_order=setup.order is None, entity_column=setup.entity, stratify=False
    )


def check_split(setup: TimeSetup, config: SplitConfig) -> None:
    """Refuse a split that is not in the setup's time order: with shuffled rows, lags read the future."""
    if config.time_column != setup.order or config.in_row_order != (setup.order is None):
        by = f"'{setup.order}'" if setup.order is not None else "the rows' order as loaded"
        raise TimeSetupError(SHUFFLED_LEAK, hint=f"Order the split by {by}, as the time features are.")


class _GroupWindow(BaseIndexer):
    """Moving windows of ``window_size`` rows that never reach back past their entity's first row."""

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None, step=None):
        end = np.arange(1, num_values + 1, dtype=np.int64)
        start = np.maximum(end - self.window_size, self.group_start).astype(np.int64)
        return start, end


# --------------------------------------------------------------------------- the transformer


class PastFeatures(TransformerMixin, BaseEstimator):
    """Add columns computed from earlier rows of the same entity (see the module's docs).

    Lags (``"temp lag 1"``), changes (``"temp change"``) and the days since the entity's previous row
    (``"days since previous"``) read strictly earlier rows; moving windows (``"temp mean of last 7"``)
    end at the row itself. Calendar parts (``"date (day of week)"``) read the row's own date. A row with
    too little past gets missing values. Columns are names in a DataFrame and positions in an array;
    the new columns come after the input's (in a DataFrame, by those names).

    Fitting remembers, per entity, the last rows the features can read (``history_*``); transforming
    puts them before the given rows, so new rows take their past from the rows fitted on. The rows
    given are returned in the order given.
    """

    def __init__(
        self,
        order: Any = None,
        entity: Any = None,
        columns: tuple = (),
        lags: tuple[int, ...] = DEFAULT_LAGS,
        windows: tuple[int, ...] = DEFAULT_WINDOWS,
        stats: tuple[str, ...] = DEFAULT_STATS,
        changes: bool = True,
        since_previous: bool = False,
        calendar: tuple[str, ...] = (),
    ) -> None:
        self.order = order
        self.entity = entity
        self.columns = columns
        self.lags = lags
        self.windows = windows
        self.stats = stats
        self.changes = changes
        self.since_previous = since_previous
        self.calendar = calendar

    def __sklearn_tags__(self) -> Tags:
        return _text_friendly_tags(super().__sklearn_tags__(), stateless=False)

    # ------------------------------------------------------------------ names

    def new_columns(self) -> list[str]:
        """The names of the columns this step adds (known before fitting)."""
        return list(self.sources())

    def sources(self) -> dict[str, Any]:
        """Each new column → the input column it is made from."""
        return past_feature_sources(
            self.order, self.columns, self.lags, self.windows, self.stats, self.changes,
            self.since_previous, self.calendar,
        )  # fmt: skip

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([*map(str, _names_in(self)), *self.new_columns()], dtype=object)

    # ------------------------------------------------------------------ fitting

    def _check(self, frame: pd.DataFrame) -> None:
        """Refuse settings that cannot work on ``frame`` (scikit-learn's ValueError)."""
        owner = type(self).__name__
        keys = [c for c in (self.order, self.entity) if c is not None]
        _require_columns(frame, [*keys, *self.columns], owner)
        for what, values, low in (("lags", self.lags, 1), ("windows", self.windows, 2)):
            if any(isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low for v in values):
                raise ValueError(f"{owner}: {what} must be whole numbers of at least {low}. Got {values!r}.")
        unknown = [s for s in self.stats if s not in STATS] + [p for p in self.calendar if p not in CALENDAR_PARTS]
        if unknown:
            raise ValueError(f"{owner}: unknown statistic or calendar part {unknown[0]!r}.")
        if (self.since_previous or self.calendar) and self.order is None:
            raise ValueError(f"{owner}: calendar parts and the time since the previous row need an order column.")
        clash = [c for c in self.new_columns() if c in frame.columns]
        if clash:
            raise ValueError(f"{owner}: the input already has a column {clash[0]!r}, which it would replace.")

    def _dates(self, frame: pd.DataFrame) -> bool:
        """Whether the order column holds dates (calendar parts and the time since need them)."""
        if self.order is None:
            return False
        values = frame[self.order]
        dates = pd.api.types.is_datetime64_any_dtype(values.dtype) or bool(
            not pd.api.types.is_numeric_dtype(values.dtype)
            and pd.to_datetime(values, errors="coerce", format="mixed").notna().any()
        )
        if (self.since_previous or self.calendar) and not dates:
            raise ValueError(
                f"{type(self).__name__}: calendar parts and the time since the previous row need dates in "
                f"{self.order!r}."
            )
        return dates

    def _keys(self, frame: pd.DataFrame) -> tuple[Any, np.ndarray | None, np.ndarray]:
        """(entity values, order values, source values as a float matrix) of ``frame``'s rows."""
        entity = frame[self.entity].to_numpy() if self.entity is not None else None
        order = order_values(frame[self.order], dates=self.dates_) if self.order is not None else None
        columns = list(self.columns)
        values = (
            frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
            if columns
            else np.empty((len(frame), 0))
        )
        return entity, order, values

    def fit(self, X: Any, y: Any = None) -> PastFeatures:
        self._fit(_as_table(self, X, reset=True))
        return self

    def _fit(self, frame: pd.DataFrame) -> tuple[Any, np.ndarray | None, np.ndarray, OrderedRows]:
        self._check(frame)
        self.dates_ = self._dates(frame)
        self.depth_ = past_depth(self.lags, self.windows, bool(self.changes or self.since_previous))
        entity, order, values = self._keys(frame)
        ordered = sort_rows(entity_codes(entity), order, len(frame))
        sizes = np.bincount(ordered.group) if len(frame) else np.zeros(0, dtype=int)
        kept = ordered.positions[ordered.step >= sizes[ordered.group] - self.depth_]
        if len(kept) > MAX_HISTORY_ROWS:
            raise DashboardError(
                f"Time features would remember {len(kept):,} earlier rows with the model (the last "
                f"{self.depth_} of each entity); at most {MAX_HISTORY_ROWS:,} fit in a model.",
                hint="Pick an entity column with fewer values, or shorter lags and windows.",
            )
        self.history_entity_ = entity[kept].tolist() if entity is not None else None
        self.history_order_ = order[kept] if order is not None else None
        self.history_values_ = values[kept]
        return entity, order, values, ordered

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        frame = _as_table(self, X, reset=True)
        entity, order, values, ordered = self._fit(frame)
        new = self._compute(entity, order, values, ordered, np.ones(len(frame), dtype=bool))
        return self._attach(frame, new, X)

    # ------------------------------------------------------------------ transforming

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "history_values_")
        frame = _as_table(self, X, reset=False)
        _require_columns(frame, [c for c in (self.order, self.entity, *self.columns) if c is not None], "PastFeatures")
        entity, order, values = self._keys(frame)
        h_entity, h_order, h_values = self._history_for(entity, order, values)
        n_history = len(h_values)
        if h_entity is not None:
            entity = np.concatenate([np.asarray(h_entity, dtype=object), np.asarray(entity, dtype=object)])
        if order is not None:
            order = np.concatenate([h_order, order])
        values = np.concatenate([h_values, values])
        mine = np.r_[np.zeros(n_history, dtype=bool), np.ones(len(frame), dtype=bool)]
        ordered = sort_rows(entity_codes(entity), order, len(values))
        new = self._compute(entity, order, values, ordered, mine)
        return self._attach(frame, new, X)

    def _history_for(self, entity: Any, order: np.ndarray | None, values: np.ndarray):
        """The remembered rows, less each entity whose remembered rows all come again in the given rows
        (then the given rows hold that entity's past themselves: the fitted rows transformed again)."""
        h_entity, h_order, h_values = self.history_entity_, self.history_order_, self.history_values_
        if len(h_values) == 0 or len(values) == 0:
            return h_entity, h_order, h_values
        given = row_hashes(entity, order, values)
        held = row_hashes(h_entity, h_order, h_values)
        again = pd.Series(np.isin(held, given))
        codes = entity_codes(h_entity) if h_entity is not None else np.zeros(len(h_values), dtype=np.int64)
        drop = again.groupby(codes).transform("all").to_numpy()
        if not drop.any():
            return h_entity, h_order, h_values
        keep = ~drop
        return (
            [e for e, k in zip(h_entity, keep, strict=True) if k] if h_entity is not None else None,
            h_order[keep] if h_order is not None else None,
            h_values[keep],
        )

    def _compute(
        self, entity: Any, order: np.ndarray | None, values: np.ndarray, ordered: OrderedRows, mine: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The new columns for the rows flagged ``mine``, in their given order (vectorised per feature)."""
        step, start = ordered.step, ordered.group_start
        sorted_values = values[ordered.positions]
        out: dict[str, np.ndarray] = {}
        for j, column in enumerate(self.columns):
            v = sorted_values[:, j]
            for lag in self.lags:
                out[lag_name(column, lag)] = _shifted(v, step, lag)
            for window in self.windows:
                rolling = pd.Series(v).rolling(_GroupWindow(window_size=window, group_start=start), min_periods=1)
                for stat in self.stats:
                    result = getattr(rolling, stat)().to_numpy(dtype=float, copy=True)
                    result[step < window - 1] = np.nan  # fewer rows than the window: not enough past
                    out[window_name(column, stat, window)] = result
            if self.changes:
                out[change_name(column)] = v - _shifted(v, step, 1)
        if self.since_previous and order is not None:
            when = order[ordered.positions].astype("datetime64[us]").astype("int64").astype(float)
            when[np.isnat(order[ordered.positions])] = np.nan
            out[SINCE_PREVIOUS] = (when - _shifted(when, step, 1)) / 86_400e6
        # Back to the given order, keeping the given rows only.
        back = np.empty(len(ordered.positions), dtype=np.int64)
        back[ordered.positions] = np.arange(len(ordered.positions))
        rows = back[mine]
        result = {name: column[rows] for name, column in out.items()}
        if self.calendar and order is not None:
            result.update(_calendar(order[mine], self.order, self.calendar))
        return {name: result[name] for name in self.new_columns()}

    def _attach(self, frame: pd.DataFrame, new: dict[str, np.ndarray], X: Any) -> Any:
        if isinstance(X, pd.DataFrame):
            added = pd.DataFrame(new, index=frame.index, columns=list(new))
            return pd.concat([frame, added], axis=1) if new else frame
        table = frame.to_numpy()
        if not new:
            return table
        return np.column_stack([table, np.column_stack(list(new.values()))])


def _shifted(values: np.ndarray, step: np.ndarray, lag: int) -> np.ndarray:
    """Each ordered row's value ``lag`` rows earlier in its entity (NaN before the entity's start)."""
    out = np.full(len(values), np.nan)
    if lag < len(values):
        out[lag:] = values[: len(values) - lag]
    out[step < lag] = np.nan
    return out


def _calendar(when: np.ndarray, order: Any, parts: Iterable[str]) -> dict[str, np.ndarray]:
    dates = pd.Series(pd.to_datetime(when)).dt
    found = {
        "day of week": lambda: dates.day_of_week,
        "day of month": lambda: dates.day,
        "day of year": lambda: dates.day_of_year,
        "week of year": lambda: dates.isocalendar().week,
        "month": lambda: dates.month,
        "quarter": lambda: dates.quarter,
        "weekend": lambda: (dates.day_of_week >= 5).where(dates.day_of_week.notna()),
    }
    return {calendar_name(order, part): np.asarray(found[part](), dtype=float) for part in parts}


# --------------------------------------------------------------------------- for the Models page


def preview(
    train_rows: pd.DataFrame, setup: TimeSetup, *, dates: bool, entity_value: Any = None, rows: int = 10
) -> pd.DataFrame:
    """The new columns on the first ``rows`` training rows of one entity (the first one by default), in time order.

    Computed as the model will: the transformer fitted on the training rows; the order, entity and
    looked-back columns are shown next to the new ones.
    """
    step = past_features(setup, dates=dates)
    features = step.fit_transform(train_rows)
    if setup.entity is not None:
        if entity_value is None and len(train_rows):
            entity_value = train_rows[setup.entity].iloc[order_keys(train_rows, setup.order, setup.entity).positions[0]]
        features = features[train_rows[setup.entity].to_numpy() == entity_value]
    ordered = order_keys(features, setup.order, None)
    shown = [*setup.key_columns(), *setup.columns, *step.new_columns()]
    return features.iloc[ordered.positions[:rows]][shown].reset_index(drop=True)
