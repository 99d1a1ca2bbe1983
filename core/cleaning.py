"""The cleaning plan: declarative, JSON-serialisable, honest about leakage.

A :class:`CleaningPlan` records what the person wants done. It splits into

* **row steps** that learn nothing from the data and may run on the whole table
  before the split (type fixes, dropping columns, exact duplicate rows, rows
  without a target (always, for a supervised task), rows missing a value where the person chose "drop rows"):
  :func:`apply_row_steps`. A duplicate is a row identical to an earlier one in
  *every* column of the file as loaded; rows that merely share their values in
  the chosen features are counted (:attr:`RowReport.feature_repeats`) but kept.
  A step that drops more than a few percent of the rows must be confirmed
  (:func:`row_losses`, :func:`needs_confirmation`);
* **learned steps** (imputation, outlier bounds) that are only *recorded* here,
  as :class:`LearnedStep` objects, and fitted later on the training split only,
  inside the model's pipeline: :func:`learned_steps`.

:func:`preview_effect` gives the before/after summary the Clean page shows.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from core.errors import PlanError
from core.guards.thresholds import THRESHOLDS
from core.schema import Role

MISSING_STRATEGIES: dict[str, str] = {
    "median": "fill with the median",
    "mean": "fill with the mean",
    "most_frequent": "fill with the most frequent value",
    "constant": "fill with a fixed value",
    "drop_rows": "drop rows where it is missing",
    "drop_column": "drop the column",
}
NUMERIC_ONLY = {"mean", "median"}
TYPE_FIXES: dict[str, str] = {
    "number": "to number",
    "category": "to category",
    "date": "to date",
    "text": "to text",
}
FIX_ROLE = {"number": Role.NUMERIC, "category": Role.CATEGORICAL, "date": Role.DATETIME, "text": Role.TEXT}
OUTLIER_METHODS = {"iqr": "IQR (beyond Q1/Q3 ± k·IQR)", "zscore": "z-score (beyond k standard deviations)"}
OUTLIER_ACTIONS = {"clip": "clip to the bounds", "remove": "remove the rows (training split only)"}
DEFAULT_THRESHOLD = {"iqr": 1.5, "zscore": 3.0}


@dataclass
class MissingRule:
    """How to treat missing values in a column or role."""

    strategy: str = "median"
    fill_value: str | float | None = None

    def describe(self) -> str:
        text = MISSING_STRATEGIES[self.strategy]
        return f"{text} ({self.fill_value!r})" if self.strategy == "constant" else text


@dataclass
class OutlierRule:
    """How to find and treat outliers in numeric columns."""

    method: str = "iqr"
    action: str = "clip"
    threshold: float = 1.5

    def describe(self) -> str:
        unit = "×IQR" if self.method == "iqr" else "standard deviations"
        return f"{OUTLIER_ACTIONS[self.action]} beyond {self.threshold:g} {unit} ({self.method.upper() if self.method == 'iqr' else 'z-score'})"


def _default_missing() -> dict[str, MissingRule]:
    return {
        Role.NUMERIC.value: MissingRule("median"),
        Role.CATEGORICAL.value: MissingRule("most_frequent"),
        Role.TEXT.value: MissingRule("constant", ""),
        Role.DATETIME.value: MissingRule("most_frequent"),
    }


#: Fields of plans written by earlier versions that are read and ignored: rows without a
#: target are now always dropped for a supervised task (a model can neither learn from
#: nor be scored on them; keeping them made every model fail).
LEGACY_FIELDS = frozenset({"drop_missing_target"})


@dataclass
class CleaningPlan:
    """Everything the person asked for on the Clean page, as plain data."""

    drop_duplicates: bool = True
    drop_columns: list[str] = field(default_factory=list)
    type_fixes: dict[str, str] = field(default_factory=dict)
    missing_by_role: dict[str, MissingRule] = field(default_factory=_default_missing)
    missing_by_column: dict[str, MissingRule] = field(default_factory=dict)
    outliers: OutlierRule | None = None
    #: Columns the outlier rule applies to; empty means every numeric feature.
    outlier_columns: list[str] = field(default_factory=list)
    #: Rows the person confirmed the row steps may drop (asked when a step drops more
    #: than ``THRESHOLDS.row_loss_share`` of the rows; asked again if the plan drops more).
    confirmed_row_loss: int = 0

    # -- serialisation -----------------------------------------------------

    def to_dict(self) -> dict:
        """Plain, JSON-ready data."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> CleaningPlan:
        """Rebuild a plan; unknown keys or values are refused with a clear message."""
        known = set(cls.__dataclass_fields__)
        data = {k: v for k, v in data.items() if k not in LEGACY_FIELDS}
        unknown = set(data) - known
        if unknown:
            raise PlanError(f"Unknown cleaning plan field(s): {', '.join(sorted(unknown))}.")
        data = dict(data)
        data["missing_by_role"] = {k: MissingRule(**v) for k, v in data.get("missing_by_role", {}).items()}
        data["missing_by_column"] = {k: MissingRule(**v) for k, v in data.get("missing_by_column", {}).items()}
        if data.get("outliers") is not None:
            data["outliers"] = OutlierRule(**data["outliers"])
        plan = cls(**data)
        plan.check_values()
        return plan

    @classmethod
    def from_json(cls, text: str) -> CleaningPlan:
        return cls.from_dict(json.loads(text))

    # -- queries -----------------------------------------------------------

    def missing_rule(self, column: str, role: Role) -> MissingRule:
        """The rule that applies to ``column``: its own, else its role's."""
        if column in self.missing_by_column:
            return self.missing_by_column[column]
        return self.missing_by_role.get(role.value, MissingRule("most_frequent"))

    def fill_rule(self, column: str, role: Role) -> MissingRule:
        """How the model's pipeline fills a gap in ``column`` (of ``role``, after type fixes): the one decision.

        A column whose gaps drop rows had its gappy training rows dropped before the split, but a new
        row with a gap (at prediction time) is still filled: by the role's rule, else the median or the
        most frequent value. Categories are never averaged (their mean or median is the most frequent
        value); dates are filled per date part with its median; text with empty text.
        """
        if role == Role.DATETIME:
            return MissingRule("median")
        if role == Role.TEXT:
            return MissingRule("constant", "")
        rule = self.missing_rule(column, role)
        if rule.strategy in ("drop_rows", "drop_column"):
            rule = self.missing_by_role.get(role.value) or MissingRule("median")
            if rule.strategy in ("drop_rows", "drop_column"):
                rule = MissingRule("median" if role == Role.NUMERIC else "most_frequent")
        if role != Role.NUMERIC and rule.strategy in NUMERIC_ONLY:
            return MissingRule("most_frequent")
        return rule if rule.strategy == "constant" else MissingRule(rule.strategy)

    def roles_after(self, roles: dict[str, Role]) -> dict[str, Role]:
        """Column roles once the type fixes are applied."""
        out = dict(roles)
        for column, fix in self.type_fixes.items():
            if column in out:
                out[column] = FIX_ROLE[fix]
        return out

    def check_values(self) -> None:
        """Refuse unknown strategies, fixes or outlier settings."""
        for where, rule in [*self.missing_by_role.items(), *self.missing_by_column.items()]:
            if rule.strategy not in MISSING_STRATEGIES:
                raise PlanError(
                    f"Unknown missing-value strategy {rule.strategy!r} for {where!r}; expected one of {', '.join(MISSING_STRATEGIES)}."
                )
        for column, fix in self.type_fixes.items():
            if fix not in TYPE_FIXES:
                raise PlanError(
                    f"Unknown type fix {fix!r} for column {column!r}; expected one of {', '.join(TYPE_FIXES)}."
                )
        if self.outliers is not None:
            outliers = self.outliers
            if outliers.method not in OUTLIER_METHODS or outliers.action not in OUTLIER_ACTIONS:
                raise PlanError(f"Unknown outlier setting {outliers.method!r}/{outliers.action!r}.")
            if not (0 < float(outliers.threshold) <= 100):
                raise PlanError(f"The outlier threshold must be a number in (0, 100]. Got {outliers.threshold!r}.")

    def validate(self, columns: list[str], roles: dict[str, Role]) -> None:
        """Check the plan against a table's columns and (fixed) roles."""
        self.check_values()
        named = set(self.drop_columns) | set(self.type_fixes) | set(self.missing_by_column) | set(self.outlier_columns)
        missing = sorted(named - set(columns))
        if missing:
            raise PlanError(
                f"The cleaning plan names column(s) not in the data: {', '.join(missing)}.",
                hint="Reset the plan or pick columns from the list.",
            )
        after = self.roles_after(roles)
        for column, rule in self.missing_by_column.items():
            if rule.strategy in NUMERIC_ONLY and after[column] != Role.NUMERIC:
                raise PlanError(
                    f"'{column}' is {after[column].value}, so it cannot be filled with the {rule.strategy}.",
                    hint="Use the most frequent value or a fixed value instead.",
                )
        for column, rule in self.missing_by_column.items():
            if rule.strategy == "constant" and after[column] == Role.NUMERIC and not _is_number(rule.fill_value):
                raise PlanError(
                    f"'{column}' holds numbers, so its fixed fill value must be a number. Got {rule.fill_value!r}."
                )
        for role, rule in self.missing_by_role.items():
            if rule.strategy == "constant" and role == Role.NUMERIC.value and not _is_number(rule.fill_value):
                raise PlanError(f"Numeric columns need a number as fixed fill value. Got {rule.fill_value!r}.")
            if rule.strategy in NUMERIC_ONLY and role not in (Role.NUMERIC.value,):
                raise PlanError(
                    f"{role.capitalize()} columns cannot be filled with the {rule.strategy}.",
                    hint="Use the most frequent value or a fixed value instead.",
                )
        for column in self.outlier_columns:
            if after[column] != Role.NUMERIC:
                raise PlanError(f"Outlier handling needs numbers, but '{column}' is {after[column].value}.")

    def describe(self, roles: dict[str, Role], target: str | None = None) -> list[str]:
        """The plan as readable steps, in the order they run."""
        steps: list[str] = []
        for column, fix in self.type_fixes.items():
            steps.append(f"Convert '{column}' {TYPE_FIXES[fix]}.")
        if self.drop_columns:
            steps.append("Drop column(s): " + ", ".join(f"'{c}'" for c in self.drop_columns) + ".")
        if self.drop_duplicates:
            steps.append(
                "Drop exact duplicate rows, identical in every column of the file (before the split, so no row is in both train and test)."
            )
        if target is not None:
            steps.append(f"Drop rows with no value in the target '{target}'.")
        for column, rule in self.missing_by_column.items():
            if rule.strategy in ("drop_rows", "drop_column"):
                steps.append(f"'{column}': {rule.describe()}.")
        for role, rule in self.missing_by_role.items():
            if any(r.value == role for r in roles.values()):
                steps.append(f"Missing {role} values: {rule.describe()} (learned on the training split).")
        for column, rule in self.missing_by_column.items():
            if rule.strategy not in ("drop_rows", "drop_column"):
                steps.append(f"Missing values in '{column}': {rule.describe()} (learned on the training split).")
        if self.outliers is not None:
            where = (
                ", ".join(f"'{c}'" for c in self.outlier_columns) if self.outlier_columns else "every numeric feature"
            )
            steps.append(f"Outliers in {where}: {self.outliers.describe()}; bounds learned on the training split.")
        return steps


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- type fixes

_CURRENCY = re.compile(r"[\s$€£¥₹%]|(?i:usd|eur|gbp)")


def parse_numbers(values: pd.Series) -> pd.Series:
    """Parse text like ``"1,234.5"``, ``"$12"``, ``"12%"``, ``"(7)"``, ``"1.234,5"``.

    Percent signs are dropped (``"12%"`` becomes 12). Values that still are not
    numbers become missing; the caller reports how many.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    text = values.astype("str").str.strip()
    negative = text.str.match(r"^\(.*\)$") | text.str.match(r"^-")
    text = text.str.replace(r"^\(|\)$|^-|^\+", "", regex=True).str.replace(_CURRENCY, "", regex=True)
    both = text.str.contains(",", regex=False) & text.str.contains(".", regex=False)
    comma_last = text.str.rfind(",") > text.str.rfind(".")
    grouped = text.str.fullmatch(r"\d{1,3}(,\d{3})+")
    comma_decimal = (both & comma_last) | (~both & text.str.contains(",", regex=False) & ~grouped)
    us = text.str.replace(",", "", regex=False)
    eu = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    cleaned = us.where(~comma_decimal, eu)
    number = pd.to_numeric(cleaned, errors="coerce")
    number = number.where(~negative.fillna(False), -number)
    return number.where(values.notna()).astype(float)


def apply_type_fixes(frame: pd.DataFrame, fixes: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Apply type fixes; return the new frame and notes on values that failed."""
    if not fixes:
        return frame, []
    out = frame.copy()
    notes: list[str] = []
    for column, fix in fixes.items():
        if column not in out.columns:
            continue
        before = out[column]
        if fix == "number":
            after = parse_numbers(before)
        elif fix == "date":
            after = (
                pd.to_datetime(before, errors="coerce", format="mixed")
                if not pd.api.types.is_datetime64_any_dtype(before.dtype)
                else before
            )
        else:  # category and text are both stored as text; the role differs
            after = before.map(lambda v: v if pd.isna(v) else _as_text(v)).astype("str")
        failed = int(after.isna().sum() - before.isna().sum())
        if failed > 0:
            bad = before[after.isna() & before.notna()].astype(str).unique()[:3]
            notes.append(
                f"'{column}': {failed:,} value(s) could not be converted {TYPE_FIXES[fix]} and became missing (e.g. {', '.join(repr(b) for b in bad)})."
            )
        out[column] = after
    return out, notes


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- row steps


@dataclass
class RowReport:
    """What the row steps did.

    ``feature_repeats`` counts the kept rows whose values in the chosen
    features (and target) repeat another kept row; ``feature_conflicts`` those
    among them whose twin has a different target. They are information, never
    dropped: two people of the same age, class and sex are different people.
    """

    rows_before: int
    duplicates_dropped: int = 0
    missing_target_dropped: int = 0
    missing_value_rows_dropped: int = 0
    columns_dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feature_repeats: int = 0
    feature_conflicts: int = 0

    @property
    def rows_dropped(self) -> int:
        return self.duplicates_dropped + self.missing_target_dropped + self.missing_value_rows_dropped

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RowLoss:
    """A row step that dropped more than ``THRESHOLDS.row_loss_share`` of the rows."""

    step: str
    rows: int
    share: float

    def message(self, rows_before: int) -> str:
        return (
            f"{self.step} drops {self.rows:,} of {rows_before:,} rows ({self.share:.0%}). "
            "Losing this many rows changes what the model learns and how it is scored."
        )


def apply_row_steps(
    frame: pd.DataFrame, plan: CleaningPlan, target: str | None, features: list[str]
) -> tuple[pd.DataFrame, RowReport]:
    """Run the steps that learn nothing from the data; safe before the split.

    Duplicates are rows identical to an earlier row in every column of
    ``frame`` (the file as loaded, unused columns included). Returns the table
    restricted to the kept features (and the target).
    """
    report = RowReport(rows_before=len(frame))
    drop = set(plan.drop_columns) | {c for c, r in plan.missing_by_column.items() if r.strategy == "drop_column"}
    kept = [c for c in features if c in frame.columns and c not in drop and c != target]
    report.columns_dropped = [c for c in features if c in drop]
    cols = kept + ([target] if target is not None and target in frame.columns else [])
    out, report.notes = apply_type_fixes(frame[cols], {c: f for c, f in plan.type_fixes.items() if c in cols})
    if plan.drop_duplicates:
        dup = duplicated_mask(frame).to_numpy()
        report.duplicates_dropped = int(dup.sum())
        out = out[~dup]
    if target is not None:  # always: a row without the answer can neither teach nor test a model
        has_target = out[target].notna()
        report.missing_target_dropped = int((~has_target).sum())
        out = out[has_target]
    row_drop_cols = [c for c, r in plan.missing_by_column.items() if r.strategy == "drop_rows" and c in out.columns]
    if row_drop_cols:
        complete = out[row_drop_cols].notna().all(axis=1)
        report.missing_value_rows_dropped = int((~complete).sum())
        out = out[complete]
    report.feature_repeats, report.feature_conflicts = feature_repeats(out, kept, target)
    return out.reset_index(drop=True), report


def feature_repeats(frame: pd.DataFrame, features: list[str], target: str | None) -> tuple[int, int]:
    """Rows repeating an earlier row's features and target; rows whose features repeat with another target.

    Returns ``(repeats, conflicts)``: ``repeats`` rows equal an earlier row in
    every feature and the target; ``conflicts`` rows share their features with
    a row of a different target (no model can tell those apart).
    """
    if not features or frame.empty:
        return 0, 0
    used = [*features, *([target] if target is not None else [])]
    repeats = int(duplicated_mask(frame[used]).sum())
    if target is None:
        return repeats, 0
    keys = pd.util.hash_pandas_object(frame[features], index=False).to_numpy()
    labels = pd.util.hash_pandas_object(frame[[target]], index=False).to_numpy()
    pairs = pd.DataFrame({"key": keys, "label": labels})
    distinct = pairs.groupby("key", sort=False)["label"].transform("nunique").to_numpy()
    return repeats, int((distinct > 1).sum())


def repeat_note(report: RowReport, target: str | None) -> str | None:
    """Plain words on rows that share their feature values (kept, never dropped by default)."""
    if not report.feature_repeats and not report.feature_conflicts:
        return None
    kept = report.rows_before - report.rows_dropped
    text = (
        f"{report.feature_repeats:,} of {kept:,} rows repeat another row's values in the chosen features"
        + (" and target" if target is not None else "")
        + ". They are kept: they differ in columns you left out (such as an ID or a name), "
        "so they are different rows, not duplicates. Identical rows in both the training and the "
        "validation split make scores slightly optimistic."
    )
    if report.feature_conflicts:
        text += (
            f" {report.feature_conflicts:,} rows share all their feature values with a row of a different "
            f"'{target}': no model can tell those apart, which caps the best possible score."
        )
    return text


def row_losses(report: RowReport) -> list[RowLoss]:
    """Each row step that drops more than ``THRESHOLDS.row_loss_share`` of the rows."""
    steps = (
        ("Dropping duplicate rows", report.duplicates_dropped),
        ("Dropping rows without a target", report.missing_target_dropped),
        ('The "drop rows where it is missing" rule', report.missing_value_rows_dropped),
    )
    total = max(1, report.rows_before)
    return [RowLoss(step, rows, rows / total) for step, rows in steps if rows / total > THRESHOLDS.row_loss_share]


def needs_confirmation(plan: CleaningPlan, report: RowReport) -> bool:
    """Whether the plan drops many rows (see :func:`row_losses`) and the person has not confirmed that many."""
    return bool(row_losses(report)) and report.rows_dropped > plan.confirmed_row_loss


def duplicated_mask(frame: pd.DataFrame) -> pd.Series:
    """True for rows that repeat an earlier row exactly (first occurrences kept)."""
    if len(frame) < 50_000 or frame.shape[1] == 0:
        return frame.duplicated()
    import polars as pl  # multi-threaded hashing: several times faster at 1M rows

    try:
        table = pl.from_pandas(frame.reset_index(drop=True))
    except Exception:  # dtypes polars cannot take: the exact pandas path
        return frame.duplicated()
    first = table.select(pl.struct(pl.all()).is_first_distinct()).to_series().to_numpy()
    return pd.Series(~first, index=frame.index)


# --------------------------------------------------------------------------- learned steps


@dataclass(frozen=True)
class LearnedStep:
    """A step whose statistics are fitted on the training split, in the pipeline."""

    kind: str  # "impute" or "outliers"
    columns: tuple[str, ...]
    strategy: str  # impute: a MISSING_STRATEGIES key; outliers: "iqr"/"zscore"
    fill_value: str | float | None = None
    action: str | None = None  # outliers: "clip" / "remove"
    threshold: float | None = None
    role: Role | None = None  # impute: the columns' role (after type fixes)


def learned_steps(plan: CleaningPlan, roles: dict[str, Role], features: list[str]) -> list[LearnedStep]:
    """The imputation and outlier steps to fit on the training split, grouped by role and rule.

    The model's pipeline is built from these steps (:func:`core.features.build_preprocessor`), and
    the Clean page's preview reads them: each column's fill is decided once, by
    :meth:`CleaningPlan.fill_rule`.
    """
    after = plan.roles_after(roles)
    gone = set(plan.drop_columns) | {c for c, r in plan.missing_by_column.items() if r.strategy == "drop_column"}
    groups: dict[tuple, list[str]] = {}
    for column in features:
        if column in gone or not after.get(column, Role.EMPTY).usable:
            continue
        rule = plan.fill_rule(column, after[column])
        groups.setdefault((after[column], rule.strategy, rule.fill_value), []).append(column)
    steps = [
        LearnedStep("impute", tuple(cols), strategy, fill, role=role) for (role, strategy, fill), cols in groups.items()
    ]
    dropped = gone | {c for c, r in plan.missing_by_column.items() if r.strategy == "drop_rows"}
    if plan.outliers is not None:
        numeric = [c for c in features if after.get(c) == Role.NUMERIC and c not in dropped]
        cols = [c for c in plan.outlier_columns if c in numeric] if plan.outlier_columns else numeric
        if cols:
            outliers = plan.outliers
            steps.append(
                LearnedStep(
                    "outliers",
                    tuple(cols),
                    outliers.method,
                    action=outliers.action,
                    threshold=float(outliers.threshold),
                )
            )
    return steps


def outlier_bounds(values: pd.Series, method: str, threshold: float) -> tuple[float, float]:
    """Lower and upper bounds beyond which a value is an outlier."""
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return -np.inf, np.inf
    if method == "iqr":
        q1, q3 = clean.quantile([0.25, 0.75])
        spread = q3 - q1
        return float(q1 - threshold * spread), float(q3 + threshold * spread)
    mean, std = clean.mean(), clean.std(ddof=0)
    return float(mean - threshold * std), float(mean + threshold * std)


# --------------------------------------------------------------------------- preview


@dataclass
class CleaningSummary:
    """Before/after figures for the Clean page."""

    rows_before: int
    rows_after: int
    columns_before: int
    columns_after: int
    missing_before: int
    missing_after: int
    outlier_rows: int
    row_report: RowReport
    outlier_note: str | None = None


def preview_effect(
    frame: pd.DataFrame, plan: CleaningPlan, target: str | None, features: list[str], roles: dict[str, Role]
) -> CleaningSummary:
    """Estimate the plan's effect on the whole table.

    Row steps are applied for real. Imputation is assumed to fill every cell it
    covers; outlier counts use bounds from the whole table, labelled as an
    estimate because at training time the bounds come from the training split.
    """
    used = [c for c in features if c in frame.columns and c != target] + ([target] if target else [])
    before = frame[used]
    after, report = apply_row_steps(frame, plan, target, features)
    steps = learned_steps(plan, roles, [c for c in after.columns if c != target])
    imputed = {c for s in steps if s.kind == "impute" for c in s.columns}
    remaining = [c for c in after.columns if c not in imputed]
    outlier_rows, note = 0, None
    for step in steps:
        if step.kind != "outliers":
            continue
        mask = pd.Series(False, index=after.index)
        for column in step.columns:
            low, high = outlier_bounds(after[column], step.strategy, step.threshold or 1.5)
            mask |= (after[column] < low) | (after[column] > high)
        outlier_rows = int(mask.sum())
        verb = "clipped" if step.action == "clip" else "removed from the training split"
        note = f"About {outlier_rows:,} rows have an outlier that would be {verb} (estimated on all rows; when training, the bounds come from the training split only)."
    return CleaningSummary(
        rows_before=len(before),
        rows_after=len(after),
        columns_before=before.shape[1],
        columns_after=after.shape[1],
        missing_before=int(before.isna().sum().sum()),
        missing_after=int(after[remaining].isna().sum().sum()) if remaining else 0,
        outlier_rows=outlier_rows,
        row_report=report,
        outlier_note=note,
    )
