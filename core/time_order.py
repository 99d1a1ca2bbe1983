"""How rows follow one another: each entity's rows in time order, and which columns can name an entity.

The one ordering that features from earlier rows (:mod:`core.time_features`), their leak check
(:mod:`core.guards.time_leak`) and the sequence networks' windows (:mod:`core.sequence_windows`) share:
rows are ordered per entity (a machine, a store; one sequence when there is none), then by the order
column (rows with the same time keep the order they come in; rows without a time come last), or as
they come. No scikit-learn, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.split import ENTITY_MIN_ROWS


@dataclass(frozen=True)
class OrderedRows:
    """Rows ordered per entity, then in time (see :func:`order_keys`).

    Attributes:
        positions: Row positions (into the frame) in that order.
        group: Each ordered row's entity code (0, 1, …; one code for missing values).
        step: Each ordered row's place in its entity's sequence: 0 for its first row.
    """

    positions: np.ndarray
    group: np.ndarray
    step: np.ndarray

    @property
    def group_start(self) -> np.ndarray:
        """For each ordered row, the place (in the order) of its entity's first row."""
        return np.arange(len(self.step)) - self.step


def order_values(values: pd.Series | np.ndarray, *, dates: bool | None = None) -> np.ndarray:
    """An order column as sortable values: dates as ``datetime64[us]`` (missing: NaT), else numbers (NaN).

    ``dates=None`` decides from the values: dates when they are dates or read as dates, else numbers.
    """
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if dates is None:
        dates = pd.api.types.is_datetime64_any_dtype(series.dtype) or (
            not pd.api.types.is_numeric_dtype(series.dtype)
            and pd.to_datetime(series, errors="coerce", format="mixed").notna().any()
        )
    if dates:
        parsed = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else pd.to_datetime(
            series, errors="coerce", format="mixed"
        )  # fmt: skip
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        return parsed.to_numpy(dtype="datetime64[us]")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def entity_codes(values: Any) -> np.ndarray | None:
    """Each value's entity as a code 0, 1, … (missing values one code of their own); ``None`` for no entity."""
    return pd.factorize(pd.Series(values), use_na_sentinel=False)[0] if values is not None else None


def sort_rows(group: np.ndarray | None, key: np.ndarray | None, n: int) -> OrderedRows:
    """Stable order by (group, key, position): the one rule every caller shares."""
    position = np.arange(n)
    sort_keys: list[np.ndarray] = [position]
    if key is not None:
        sort_keys.append(key)
    if group is not None:
        sort_keys.append(group)
    order = np.lexsort(sort_keys) if len(sort_keys) > 1 else position
    sorted_group = group[order] if group is not None else np.zeros(n, dtype=np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_group[1:] != sorted_group[:-1]
    start = np.maximum.accumulate(np.where(first, position, 0)) if n else position
    return OrderedRows(order, sorted_group, position - start)


def order_keys(frame: pd.DataFrame, order: str | None, entity: str | None) -> OrderedRows:
    """Order ``frame``'s rows per entity, then by ``order`` (``None``: as they come), ties as they come.

    The one ordering time features use; a sequence model can build its windows from it. Rows without
    an order value come last in their entity; rows without an entity value form an entity of their own.
    """
    key = order_values(frame[order]) if order is not None else None
    return sort_rows(entity_codes(frame[entity]) if entity is not None else None, key, len(frame))


def sequence_windows(
    frame: pd.DataFrame, columns: list[str], order: str | None, entity: str | None, length: int
) -> np.ndarray:
    """Each row's last ``length`` rows of ``columns`` within its entity, the row itself last.

    Returns an array (rows × length × columns) in ``frame``'s row order, as numbers, with NaN where an
    entity has fewer earlier rows (the start of a sequence). Built with index arithmetic, no loop over rows.
    """
    ordered = order_keys(frame, order, entity)
    values = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)[ordered.positions]
    back = np.arange(length - 1, -1, -1)  # rows back, oldest first
    index = np.arange(len(frame))[:, None] - back[None, :]
    valid = ordered.step[:, None] >= back[None, :]
    windows = np.where(valid[..., None], values[np.clip(index, 0, None)], np.nan)
    out = np.empty_like(windows)
    out[ordered.positions] = windows
    return out


def entity_columns(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The ``columns`` that can name an entity (machine, store): all but numbers with fractions (measurements)."""

    def measured(values: pd.Series) -> bool:
        if not pd.api.types.is_float_dtype(values):
            return False
        present = values.dropna().to_numpy()
        return bool((present != np.round(present)).any())  # 1.0, 2.0, … (ids read as floats) still name entities

    return [c for c in columns if c in frame.columns and not measured(frame[c])]


def entity_note(frame: pd.DataFrame, entity: str | None) -> str | None:
    """Plain words when ``entity``'s values have on average fewer than :data:`ENTITY_MIN_ROWS` rows each."""
    if entity is None or entity not in frame.columns or frame.empty:
        return None
    values = int(frame[entity].nunique(dropna=False))
    mean = len(frame) / max(1, values)
    if mean >= ENTITY_MIN_ROWS:
        return None
    return (
        f"Each '{entity}' value has {mean:.3g} rows on average: a sequence needs at least {ENTITY_MIN_ROWS} for "
        "one of them to validate, and lags need earlier rows. An entity is something with several rows over "
        "time (a machine, a store); pick another column or none."
    )


def row_hashes(entity: Any, order: np.ndarray | None, values: np.ndarray) -> np.ndarray:
    """One number per row from its entity, order value and values (equal rows, equal numbers)."""
    parts: dict[str, Any] = {f"v{j}": values[:, j] for j in range(values.shape[1])}
    if entity is not None:
        parts["entity"] = pd.Series(list(entity), dtype=object).astype(str)
    if order is not None:
        parts["order"] = order
    if not parts:
        return np.zeros(len(values), dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()
