"""Column roles: what each column *is* for machine learning.

A role decides how a column is profiled, whether it starts as a feature, and
(later) which preprocessing branch it goes through. Roles are inferred from the
data with a reason the person can read, and any role can be overridden.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from core.dates import DATE_SHARE, looks_like_date, parse_dates

#: Above this many rows, role inference looks at a seeded sample.
INFER_SAMPLE_ROWS = 50_000
#: A text column whose values are at least this share numbers (or dates) is a near miss: its
#: reason says which values kept it from being read as numbers (or dates).
NEAR_MISS_SHARE = 0.8
#: Text written as a number, with or without thousands separators or a decimal comma.
_NUMBER_TEXT = r"[+-]?(?:\d+(?:[.,\s]\d+)*|[.,]\d+)(?:[eE][+-]?\d+)?"
_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key|code|number|no)$|^id[_\s-]|^(id|uuid|guid)$", re.I)


class Role(StrEnum):
    """The part a column plays; the values are shown to people."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TEXT = "text"
    DATETIME = "datetime"
    ID = "ID-like"
    CONSTANT = "constant"
    EMPTY = "empty"

    @property
    def usable(self) -> bool:
        """Whether a column of this role can be a model input at all."""
        return self in (Role.NUMERIC, Role.CATEGORICAL, Role.TEXT, Role.DATETIME)


ROLE_HELP: dict[Role, str] = {
    Role.NUMERIC: "Numbers that can be compared and averaged.",
    Role.CATEGORICAL: "A small set of labels (or yes/no); each label is a group.",
    Role.TEXT: "Free text; models use the words in it.",
    Role.DATETIME: "Dates or times; models use parts like year, month, weekday.",
    Role.ID: "A different value on (almost) every row, like a row number or customer ID; "
    "it identifies rows but does not generalise.",
    Role.CONSTANT: "The same value on every row; it carries no information.",
    Role.EMPTY: "No values at all.",
}


@dataclass(frozen=True)
class RoleGuess:
    """An inferred role and why it was chosen.

    ``note`` is set for a near miss (see :func:`near_miss`): what kept a column of numbers or dates
    from being read as such; the reason starts with it.
    """

    role: Role
    reason: str
    note: str | None = None


def infer_roles(frame: pd.DataFrame, *, sample_rows: int = INFER_SAMPLE_ROWS, seed: int = 0) -> dict[str, RoleGuess]:
    """Infer a role for every column.

    Args:
        frame: The loaded table.
        sample_rows: Infer from a seeded sample of at most this many rows.
        seed: Seed of that sample.
    """
    sample = frame.sample(n=sample_rows, random_state=seed) if len(frame) > sample_rows else frame
    return {name: infer_role(sample[name]) for name in frame.columns}


def infer_role(column: pd.Series) -> RoleGuess:
    """Infer one column's role from its values (and, for IDs, its name)."""
    values = column.dropna()
    n = len(values)
    if n == 0:
        return RoleGuess(Role.EMPTY, "every value is missing")
    distinct = values.nunique()
    if distinct == 1:
        return RoleGuess(Role.CONSTANT, f"every value is {_short(values.iloc[0])!r}")
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return RoleGuess(Role.CATEGORICAL, "true/false values")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime_role(values)
    name = str(column.name)
    unique_share = distinct / n
    if pd.api.types.is_numeric_dtype(dtype):
        return _numeric_role(values, name, distinct, unique_share)
    return _text_role(values.astype(str), name, distinct, unique_share)


def _datetime_role(values: pd.Series) -> RoleGuess:
    if bool((values.dt.day == 1).all() and (values.dt.normalize() == values).all()):
        return RoleGuess(Role.DATETIME, "months: every value is the first day of a month")
    return RoleGuess(Role.DATETIME, "values are dates/times")


def _numeric_role(values: pd.Series, name: str, distinct: int, unique_share: float) -> RoleGuess:
    integral = pd.api.types.is_integer_dtype(values.dtype) or bool((values % 1 == 0).all())
    if integral and n_ok(values) and unique_share == 1.0:
        if _ID_NAME.search(name):
            return RoleGuess(
                Role.ID, f"a different whole number on every row and the name '{_short(name)}' suggests an ID"
            )
        ordered = values.is_monotonic_increasing or values.is_monotonic_decreasing
        if ordered and values.diff().dropna().abs().eq(1).mean() > 0.95:
            return RoleGuess(Role.ID, "consecutive whole numbers, one per row (a row number)")
    if distinct == 2:
        return RoleGuess(Role.CATEGORICAL, f"only two values ({', '.join(map(_short, sorted(values.unique())[:2]))})")
    return RoleGuess(Role.NUMERIC, f"numbers with {distinct:,} distinct values")


def n_ok(values: pd.Series) -> bool:
    """Whether there are enough values to call a column an ID (not a tiny table)."""
    return len(values) >= 20


def _text_role(values: pd.Series, name: str, distinct: int, unique_share: float) -> RoleGuess:
    guess = _text_guess(values, name, distinct, unique_share)
    near = near_miss(values)
    return RoleGuess(guess.role, f"{near}; {guess.reason}", near) if near else guess


def _text_guess(values: pd.Series, name: str, distinct: int, unique_share: float) -> RoleGuess:
    n = len(values)
    lengths = values.str.len()
    mean_len = float(lengths.mean())
    words = float(values.head(2_000).str.count(r"\s+").mean()) + 1
    if mean_len >= 40 or (words >= 4 and unique_share > 0.5):
        return RoleGuess(Role.TEXT, f"free text: {words:.0f} words per value on average")
    if unique_share >= 0.95 and n >= 20:
        return RoleGuess(
            Role.ID, f"{distinct:,} distinct short labels in {n:,} rows: a different value on almost every row"
        )
    if _ID_NAME.search(name) and unique_share > 0.5 and n >= 20:
        return RoleGuess(Role.ID, f"the name '{_short(name)}' and mostly distinct values suggest an ID")
    return RoleGuess(Role.CATEGORICAL, f"{distinct:,} distinct labels")


def near_miss(values: pd.Series) -> str | None:
    """Why a text column that is mostly numbers or dates was not read as such, and what to do; else ``None``.

    ``values`` are the column's non-missing values as text. A near miss has at least
    :data:`NEAR_MISS_SHARE` of its values written as numbers (or read as dates), but not all.
    """
    probe = values.head(500).astype("str").str.strip()
    if probe.empty:
        return None
    # The first values decide whether the whole column is looked at: role inference runs on every column.
    if _is_number(probe).mean() >= NEAR_MISS_SHARE / 2:
        text = values.astype("str").str.strip()
        numbers = _is_number(text)
        share = float(numbers.mean())
        if NEAR_MISS_SHARE <= share < 1:
            others = text[~numbers].value_counts().index[:3]
            one = len(others) == 1
            return (
                f"numbers in {_percent(share)} of the values, but {_examples(others)} {'is' if one else 'are'} "
                f"not numbers: mark {'it' if one else 'them'} as missing on the Data page ('Read the file "
                "differently') or use 'to number' on the Clean page"
            )
        return None
    if probe.head(200).map(looks_like_date).mean() < NEAR_MISS_SHARE:
        return None
    text = values.astype("str").str.strip()
    read = parse_dates(text).notna().to_numpy()
    share = float(read.mean())
    if not NEAR_MISS_SHARE <= share < 1:
        return None
    failed = text[~read]
    return (
        f"dates in {_percent(share)} of the values, but {len(failed):,} could not be read as dates (such as "
        f"{_examples(failed.value_counts().index[:3])}); a column is read as dates when {DATE_SHARE:.0%} are: "
        "correct or clear those values in the file, or use 'to date' on the Clean page (they become missing)"
    )


def _is_number(text: pd.Series) -> pd.Series:
    return text.str.fullmatch(_NUMBER_TEXT).fillna(False).astype(bool)


def _percent(share: float) -> str:
    """A share as a whole percentage, rounded down (99.6 % of values is not "100%")."""
    return f"{math.floor(share * 100)}%"


def _examples(values) -> str:
    return ", ".join(repr(_short(v, 20)) for v in values)


def _short(value: object, limit: int = 30) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def effective_roles(inferred: dict[str, RoleGuess], overrides: dict[str, str] | None) -> dict[str, Role]:
    """Inferred roles with the person's overrides applied (unknown columns ignored)."""
    roles = {name: guess.role for name, guess in inferred.items()}
    for name, role in (overrides or {}).items():
        if name in roles:
            roles[name] = Role(role)
    return roles
