"""The leakage and "too good to be true" scan: columns that give the answer away.

A column *leaks* when it carries the target into the inputs: it was computed
from the target (a credit band assigned from the very rate being predicted) or
recorded after the outcome (payments made after a loan was issued). A model
trained on it scores wonderfully and fails on new rows, where the column is not
known yet. The scan measures, on the training rows only:

* each column's **power alone**: a one-column model (the target's distribution
  within bins of the column's values, or within each of its categories, missing
  values as a bin of their own) cross-validated on the training rows, scored on
  a scale where a useless column is 0 and a perfect predictor is 1 (R² for a
  numeric target, the share of log loss removed for classes). A category whose
  levels each pin the target to one class or a narrow range scores near 1.
* **near-copies**: a numeric column whose rank correlation with a numeric
  target is almost ±1 (the target itself, or a monotone transform of it).
* **names** that suggest information recorded after the outcome (``paid``,
  ``recoveries``, ``final``…) or that contain the target's name: a soft signal
  that lowers the bar, never a finding on its own.

Text columns are not scanned (a one-column model of free text is a model in
itself); the scan says which columns it skipped. It never blocks training and
never changes data: it returns findings for the pages, the report and the model
card to show. Thresholds are in :mod:`core.guards.thresholds`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.guards.findings import Finding, Level, worst_first
from core.guards.thresholds import THRESHOLDS
from core.schema import Role
from core.split import SplitConfig, make_split
from core.target import Task

#: A numeric column is cut into bins of at least this many rows ...
MIN_BIN_ROWS = 20
#: ... and at most this many bins (values that fill a bin alone get their own).
MAX_BINS = 100
#: Pseudo-count pulling each bin's target distribution towards the overall one.
SMOOTHING = 0.1
#: Roles the scan does not look at (free text; columns without information).
NOT_SCANNED = (Role.TEXT, Role.EMPTY, Role.CONSTANT)
#: Words in a column's name that suggest it is recorded after the outcome.
AFTER_OUTCOME_WORDS = frozenset(
    {
        "after", "post", "final", "outcome", "result", "results", "paid", "payment", "payments", "pymnt",
        "recovery", "recoveries", "collection", "collections", "settlement", "settled", "refund", "refunded",
        "chargeoff", "charged", "closed", "closing", "discharge", "discharged", "death", "died", "deceased",
        "readmitted", "readmission", "followup", "actual", "realised", "realized", "resolution", "resolved",
        "cancelled", "canceled", "cancellation", "terminated", "termination", "churned", "won", "lost",
    }
)  # fmt: skip


@dataclass
class LeakageScan:
    """What the scan measured and found.

    Attributes:
        findings: Flagged columns, likely leaks first.
        power: Each scanned column's power alone (0 useless … 1 perfect).
        rows: Training rows the scan looked at.
        skipped: Columns not scanned (free text, empty or constant).
        seconds: Time the scan took.
    """

    findings: list[Finding] = field(default_factory=list)
    power: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def flagged(self, column: str) -> Finding | None:
        """The loudest finding about ``column``, if any."""
        return next((f for f in self.findings if f.column == column), None)


def scan(
    train: pd.DataFrame,
    target: str | None,
    task: Task,
    features: list[str],
    roles: dict[str, Role],
    *,
    seed: int = 0,
) -> LeakageScan:
    """Scan ``features`` for leakage of ``target`` on the training rows ``train``.

    Args:
        train: Training rows only (never validation or test rows).
        target: The target column; ``None`` (clustering) gives an empty scan.
        task: The task (classification or regression decides the scale).
        features: Columns to scan.
        roles: Column roles; text, empty and constant columns are skipped.
        seed: Seed of the row sample and of the folds.
    """
    started = time.perf_counter()
    if target is None or task == Task.CLUSTERING or target not in train.columns:
        return LeakageScan()
    rows = train[train[target].notna()]
    if len(rows) > THRESHOLDS.scan_rows:
        rows = rows.sample(n=THRESHOLDS.scan_rows, random_state=seed)
    result = LeakageScan(rows=len(rows))
    if len(rows) < 2 * THRESHOLDS.scan_folds:
        result.seconds = time.perf_counter() - started
        return result
    y, numeric_target = _target_values(rows[target], task)
    folds = np.random.default_rng(seed).permutation(len(rows)) % THRESHOLDS.scan_folds
    for column in features:
        if column == target or column not in rows.columns:
            continue
        if roles.get(column, Role.CATEGORICAL) in NOT_SCANNED:
            result.skipped.append(column)
            continue
        values = rows[column]
        codes = column_codes(values)
        power = _power(codes, y, task, folds)
        result.power[column] = power
        rho = _rank_correlation(values, numeric_target) if numeric_target is not None else None
        finding = _judge(column, target, task, values, power, rho, _Detail(codes, y, folds))
        if finding is not None:
            result.findings.append(finding)
    result.findings = worst_first(result.findings)
    result.seconds = time.perf_counter() - started
    return result


def scan_table(
    frame: pd.DataFrame,
    target: str | None,
    task: Task,
    features: list[str],
    roles: dict[str, Role],
    config: SplitConfig | None = None,
) -> LeakageScan:
    """The scan on the training rows of a split of ``frame`` (the default split unless ``config`` says otherwise).

    For the Target page, before the person has chosen a split: the rows with a
    target are split as training would split them, and only the training part is
    looked at. A table too small to split gives an empty scan.
    """
    if target is None or task == Task.CLUSTERING:
        return LeakageScan()
    config = config or SplitConfig()
    rows = frame[frame[target].notna()].reset_index(drop=True)
    try:
        split = make_split(rows, target, task, config)
    except DashboardError:
        return LeakageScan()
    return scan(rows.iloc[split.train], target, task, features, roles, seed=config.seed)


def column_power(values: pd.Series, y: np.ndarray, task: Task, folds: np.ndarray) -> float:
    """A one-column model's cross-validated power: 0 (useless) … 1 (perfect predictor).

    ``y`` holds integer class codes (classification) or floats (regression);
    ``folds`` gives each row's fold.
    """
    return _power(column_codes(values), y, task, folds)


def _power(codes: np.ndarray, y: np.ndarray, task: Task, folds: np.ndarray) -> float:
    if task == Task.REGRESSION:
        return _regression_power(codes, y, folds)
    return _classification_power(codes, y, folds)


def column_codes(values: pd.Series) -> np.ndarray:
    """Each row's bin (numbers, dates) or category, as integers from 0; missing values get a code of their own."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        numbers = values.astype("int64").astype(float).where(values.notna())
        return _number_codes(numbers.to_numpy(dtype=float))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return _number_codes(values.to_numpy(dtype=float, na_value=np.nan))
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return np.where(codes < 0, codes.max() + 1, codes).astype(np.int64)


def _number_codes(v: np.ndarray) -> np.ndarray:
    finite = np.isfinite(v)
    present = v[finite]
    codes = np.zeros(len(v), dtype=np.int64)
    if len(present):
        bins = int(np.clip(len(present) // MIN_BIN_ROWS, 2, MAX_BINS))
        distinct, counts = np.unique(present, return_counts=True)
        if len(distinct) <= bins:
            codes[finite] = np.searchsorted(distinct, present)
        else:
            heavy = distinct[counts >= len(present) / bins]  # a value that fills a bin alone is a bin
            light = finite & ~np.isin(v, heavy)
            light_bins = int(np.clip(light.sum() // MIN_BIN_ROWS, 1, MAX_BINS))
            edges = (
                np.unique(np.quantile(v[light], np.linspace(0, 1, light_bins + 1))[1:-1])
                if light.any()
                else np.array([])
            )
            codes[light] = np.searchsorted(edges, v[light], side="right")
            is_heavy = finite & ~light
            codes[is_heavy] = len(edges) + 1 + np.searchsorted(heavy, v[is_heavy])
    codes[~finite] = codes.max() + 1 if finite.any() else 0
    return codes


def _classification_power(codes: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """1 − (out-of-fold log loss / log loss of the class shares alone)."""
    k = int(y.max()) + 1
    prior_all = np.bincount(y, minlength=k) / len(y)
    baseline = -float(np.sum(prior_all[prior_all > 0] * np.log(prior_all[prior_all > 0])))
    if baseline <= 0:
        return 0.0
    pairs = codes * k + y
    p_true = np.empty(len(y))
    for fold in np.unique(folds):
        fit, held = folds != fold, folds == fold
        prior = np.bincount(y[fit], minlength=k) / fit.sum()
        pair_counts = _lookup(pairs[fit], pairs[held])
        code_counts = _lookup(codes[fit], codes[held])
        p_true[held] = (pair_counts + SMOOTHING * prior[y[held]]) / (code_counts + SMOOTHING)
    loss = -float(np.mean(np.log(np.clip(p_true, 1e-4, 1.0))))
    return float(max(0.0, 1.0 - loss / baseline))


def _regression_power(codes: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """Out-of-fold R² of each bin's (smoothed) mean target."""
    total = float(np.sum((y - y.mean()) ** 2))
    if total <= 0:
        return 0.0
    predicted = np.empty(len(y))
    size = int(codes.max()) + 1
    for fold in np.unique(folds):
        fit, held = folds != fold, folds == fold
        prior = float(y[fit].mean())
        sums = np.bincount(codes[fit], weights=y[fit], minlength=size)
        counts = np.bincount(codes[fit], minlength=size)
        predicted[held] = ((sums + SMOOTHING * prior) / (counts + SMOOTHING))[codes[held]]
    return float(max(0.0, 1.0 - np.sum((y - predicted) ** 2) / total))


def _lookup(fitted: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """How often each of ``wanted`` occurs in ``fitted`` (0 when never)."""
    keys, counts = np.unique(fitted, return_counts=True)
    where = np.clip(np.searchsorted(keys, wanted), 0, max(0, len(keys) - 1))
    found = keys[where] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, counts[where] if len(keys) else 0, 0).astype(float)


def _target_values(target: pd.Series, task: Task) -> tuple[np.ndarray, pd.Series | None]:
    """(codes or floats for the one-column models, the target as numbers for rank correlation or None)."""
    if task == Task.REGRESSION:
        numbers = target.astype("int64") if pd.api.types.is_datetime64_any_dtype(target.dtype) else target
        numbers = pd.to_numeric(numbers, errors="coerce").astype(float)
        return numbers.fillna(numbers.mean()).to_numpy(), numbers
    codes, _ = pd.factorize(target.astype(str))
    return codes.astype(np.int64), None


def _rank_correlation(values: pd.Series, target: pd.Series) -> float | None:
    """Spearman correlation of a numeric (or date) column with a numeric target, or ``None``."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = values.astype("int64").astype(float).where(values.notna())
    elif not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return None
    both = pd.DataFrame({"x": values.to_numpy(dtype=float, na_value=np.nan), "y": target.to_numpy()}).dropna()
    if len(both) < MIN_BIN_ROWS or both["x"].nunique() < 3:
        return None
    rho = both["x"].rank().corr(both["y"].rank())
    return None if pd.isna(rho) else float(rho)


def name_signal(column: str, target: str) -> str | None:
    """Why a column's name suggests leakage, in words, or ``None``."""
    words = _words(column)
    target_words = [w for w in _words(target) if len(w) >= 3]
    if target_words and all(w in words for w in target_words):
        return f"its name contains the target's name ('{target}')"
    hits = sorted(words & AFTER_OUTCOME_WORDS)
    if hits:
        return f"its name ('{hits[0]}') suggests it is recorded after the outcome"
    return None


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}


@dataclass(frozen=True)
class _Detail:
    """What the evidence sentence may look at: the column's codes, the target and the folds."""

    codes: np.ndarray
    y: np.ndarray
    folds: np.ndarray


def _judge(
    column: str, target: str, task: Task, values: pd.Series, power: float, rho: float | None, detail: _Detail
) -> Finding | None:
    """The finding for one column, or ``None`` when nothing stands out."""
    t = THRESHOLDS
    named = name_signal(column, target)
    if rho is not None and abs(rho) >= t.copy_correlation:
        evidence = (
            f"It rises and falls with '{target}' almost exactly (rank correlation {rho:+.3f}): "
            "it looks like a copy or a transform of the target."
        )
        return Finding(Level.LEAK, column, _with_name(evidence, named), _fix(column, target, Level.LEAK), "copy", power)
    look, leak = (t.named_power_look, t.power_look) if named else (t.power_look, t.power_leak)
    if power < look:
        return None
    level = Level.LEAK if power >= leak else Level.LOOK
    evidence = _power_evidence(column, target, task, values, power, detail)
    return Finding(level, column, _with_name(evidence, named), _fix(column, target, level), "power", power)


def _power_evidence(column: str, target: str, task: Task, values: pd.Series, power: float, detail: _Detail) -> str:
    share = (
        f"on its own, it explains {_percent(power)} of '{target}' on training rows it did not learn from "
        f"(score {power:.2f}, where 1 is a perfect predictor)"
    )
    missing = values.isna()
    if 0 < missing.mean() < 1:
        filled = _power(missing.to_numpy().astype(np.int64), detail.y, task, detail.folds)
        if filled >= 0.9 * power:  # being filled in or empty is what gives the answer away
            return f"Whether '{column}' is filled in or empty tells '{target}' apart: {share}."
    numeric = pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype)
    if numeric and not pd.api.types.is_bool_dtype(values.dtype):
        return share[0].upper() + share[1:] + "."
    levels = f"{values.nunique(dropna=False):,} values"
    if task.is_classification:
        pure = _pure_share(detail.codes, detail.y)
        return (
            f"For {_percent(pure)} of the rows, its value alone gives the class of '{target}' (its {levels}): {share}."
        )
    if power >= THRESHOLDS.power_look:  # within each value the target hardly varies
        return f"Its {levels} each pin '{target}' to a narrow range: {share}."
    return f"Its {levels} go with clearly different '{target}': {share}."


def _pure_share(codes: np.ndarray, y: np.ndarray, purity: float = 0.95) -> float:
    """Share of rows whose value is (almost) always of one class: at least ``purity`` of that value's rows."""
    k = int(y.max()) + 1
    pairs = np.bincount(codes * k + y, minlength=(int(codes.max()) + 1) * k).reshape(-1, k)
    totals = pairs.sum(axis=1)
    pure = pairs.max(axis=1) >= purity * np.maximum(totals, 1)
    return float(totals[pure].sum() / max(1, totals.sum()))


def _percent(share: float) -> str:
    """A share as a percentage rounded down, so 99.8% never reads as 100%."""
    return f"{np.floor(share * 1000) / 10:g}%"


def _with_name(evidence: str, named: str | None) -> str:
    return f"{evidence} Also, {named}." if named else evidence


def _fix(column: str, target: str, level: Level) -> str:
    if level == Level.LEAK:
        return (
            f"Untick '{column}' if it is recorded after '{target}' or computed from it: a model that relies on it "
            "fails on new rows, where it is not known yet. If it is truly known in advance (a lookup, such as a "
            "country's continent), you may keep it, but the model will mostly repeat that lookup."
        )
    return f"Check when '{column}' is recorded: untick it if it is only known after '{target}' or computed from it."
