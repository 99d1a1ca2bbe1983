"""Windows of the last N rows per entity, for the sequence networks (:mod:`core.keras_sequence`).

A sequence network reads, for each row, the preprocessed features of the last ``N`` rows of the
same entity, the row itself last. Its pipeline passes two number columns after the features,
made by :class:`SequenceKeys` from the time setup's columns (:class:`core.time_features.TimeSetup`):

* the **entity key**: a stable hash of the entity's value as text, below 2**52 so a float64 holds
  it exactly (0 when there is no entity column: all rows are one sequence);
* the **order key**: days since 1970 for dates, the value for numbers; NaN when the row has no
  time, or when rows follow the order they come in (no order column). Rows are ordered per entity by
  this key, ties and NaN keeping the order they come in, NaN last — the rule
  :func:`core.time_order.order_keys` gives time features.

:func:`window_index` turns the keys into, for each row, the positions of its window's rows
(index arithmetic, no loop over rows); :func:`remembered` keeps the last ``N − 1`` rows per entity
of the training rows, which the network puts before the rows it is given later (validation and
test rows, a row on the Predict page), as :class:`core.time_features.PastFeatures` does for raw rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from core.time_order import order_keys, order_values, row_hashes

#: Entity keys stay below this, so a float64 column holds each exactly.
KEY_LIMIT = 2**52
#: The names of the two key columns a sequence model's pipeline passes after the features.
KEY_NAMES = ("sequence entity", "sequence order")
DAY_MICROSECONDS = 86_400e6


class SequenceKeys(TransformerMixin, BaseEstimator):
    """The time setup's order and entity columns as two numbers per row: (entity key, order key).

    Given the columns it names, in the order ``order``, ``entity`` (either may be None; with
    neither, any one column, which is not read). Fitting records whether the order column holds dates.
    """

    def __init__(self, order: Any = None, entity: Any = None) -> None:
        self.order = order
        self.entity = entity

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _frame(self, X: Any) -> pd.DataFrame:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
        return frame.reset_index(drop=True)

    def _column(self, frame: pd.DataFrame, which: str) -> pd.Series | None:
        name = getattr(self, which)
        if name is None:
            return None
        if name in frame.columns:
            return frame[name]
        position = 0 if which == "order" or self.order is None else 1  # an array: known by position
        return frame.iloc[:, position]

    def fit(self, X: Any, y: Any = None) -> SequenceKeys:
        frame = self._frame(X)
        self.n_features_in_ = frame.shape[1]
        values = self._column(frame, "order")
        self.dates_ = bool(values is not None and np.issubdtype(order_values(values).dtype, np.datetime64))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "dates_")
        frame = self._frame(X)
        out = np.zeros((len(frame), 2), dtype=np.float64)
        entity = self._column(frame, "entity")
        if entity is not None:
            out[:, 0] = entity_keys(entity)
        order = self._column(frame, "order")
        out[:, 1] = np.nan if order is None else order_numbers(order, dates=self.dates_)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(KEY_NAMES, dtype=object)


def entity_keys(values: pd.Series) -> np.ndarray:
    """Each value's entity key: a hash of its text (missing values share one), below :data:`KEY_LIMIT`."""
    text = pd.Series(values).map(lambda v: "\x00missing" if pd.isna(v) else str(v)).astype(object)
    hashed = pd.util.hash_pandas_object(text, index=False).to_numpy()
    return (hashed % np.uint64(KEY_LIMIT)).astype(np.float64)


def order_numbers(values: pd.Series, *, dates: bool) -> np.ndarray:
    """An order column as numbers: days since 1970 for dates, the value for numbers; NaN where missing."""
    ordered = order_values(values, dates=dates)
    if not np.issubdtype(ordered.dtype, np.datetime64):
        return ordered.astype(np.float64)
    out = ordered.astype("datetime64[us]").astype(np.int64) / DAY_MICROSECONDS
    out[np.isnat(ordered)] = np.nan
    return out


def window_index(entity: np.ndarray, order: np.ndarray, length: int) -> np.ndarray:
    """For each row, the positions of the last ``length`` rows of its entity, oldest first, the row itself last.

    Rows are ordered per entity by ``order`` (ties and NaN keep their given order; NaN last). Returns
    an int array (rows × length) in the rows' given order, −1 where the entity has fewer earlier rows.
    """
    frame = pd.DataFrame({"entity": np.asarray(entity, dtype=np.float64), "order": np.asarray(order, dtype=np.float64)})
    ordered = order_keys(frame, "order", "entity")
    n = len(frame)
    back = np.arange(length - 1, -1, -1)  # rows back, oldest first
    place = np.arange(n)[:, None] - back[None, :]
    valid = ordered.step[:, None] >= back[None, :]
    positions = np.where(valid, ordered.positions[np.clip(place, 0, None)], -1)
    out = np.empty_like(positions)
    out[ordered.positions] = positions
    return out


def remembered(entity: np.ndarray, order: np.ndarray, depth: int) -> np.ndarray:
    """Positions of each entity's last ``depth`` rows (in time), in their given order: the history to keep."""
    if depth <= 0 or not len(entity):
        return np.zeros(0, dtype=np.int64)
    frame = pd.DataFrame({"entity": np.asarray(entity, dtype=np.float64), "order": np.asarray(order, dtype=np.float64)})
    ordered = order_keys(frame, "order", "entity")
    sizes = np.bincount(ordered.group)
    return np.sort(ordered.positions[ordered.step >= sizes[ordered.group] - depth])


def with_history(
    history: tuple[np.ndarray, np.ndarray, np.ndarray], entity: np.ndarray, order: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The remembered rows put before the given ones: (entity, order, values, how many remembered rows lead).

    An entity whose remembered rows all come again among the given rows is read from the given rows alone
    (the training rows scored again), as :class:`core.time_features.PastFeatures` does.
    """
    h_entity, h_order, h_values = history
    if len(h_entity) and len(entity):
        again = pd.Series(np.isin(row_hashes(h_entity, h_order, h_values), row_hashes(entity, order, values)))
        keep = ~again.groupby(h_entity).transform("all").to_numpy()
        h_entity, h_order, h_values = h_entity[keep], h_order[keep], h_values[keep]
    return (
        np.concatenate([h_entity, entity]),
        np.concatenate([h_order, order]),
        np.concatenate([h_values, values]),
        len(h_entity),
    )
