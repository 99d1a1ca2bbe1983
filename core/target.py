"""Choosing what to predict: task detection, target checks, feature defaults."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from core.errors import TargetError
from core.schema import Role

#: A numeric target with at most this many distinct whole numbers is a class label.
MAX_INTEGER_CLASSES = 10
#: A label-like target with more classes than this gets a warning.
MANY_CLASSES = 50
#: A classification target with more classes than this is refused: every model, metric, chart and
#: explanation works class by class (gradient boosting grows one tree per class each round).
MAX_CLASSES = 200
#: ... and so is one with fewer rows per class than this on average: too few to learn each class
#: and to check it on rows the model has not seen.
MIN_ROWS_PER_CLASS = 5
#: A class needs this many rows to have one in training and one in validation (the stratified
#: split gives a class validation rows from 3 rows on); when more than :data:`RARE_CLASSES_SHARE`
#: of the classes have fewer, the target is refused (a few such classes are only warned about).
MIN_CLASS_ROWS = 3
RARE_CLASSES_SHARE = 0.5
#: Two classes are imbalanced when the rarer holds less than this share of the rows; with k
#: classes, when the rarest holds less than ``IMBALANCE_SHARE * 2 / k`` (the same fraction of
#: an even share: ten classes of 10 % each are balanced, one of 3 % among ten is not).
IMBALANCE_SHARE = 0.2
#: Labels that name the "it happened" side of a yes/no target (compared lower-case, stripped).
POSITIVE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y", "positive", "pos"})


class Task(StrEnum):
    """What kind of model the person is building."""

    BINARY = "binary classification"
    MULTICLASS = "multiclass classification"
    REGRESSION = "regression"
    CLUSTERING = "clustering"
    ANOMALY = "anomaly detection"

    @property
    def is_classification(self) -> bool:
        return self in (Task.BINARY, Task.MULTICLASS)

    @property
    def has_target(self) -> bool:
        """Whether the task learns from a target column: clustering and anomaly detection have none."""
        return self not in (Task.CLUSTERING, Task.ANOMALY)

    @property
    def explained(self) -> bool:
        """Whether its models have an output SHAP can explain: all but clustering (a detector's is its anomaly score)."""
        return self != Task.CLUSTERING


TASK_HELP: dict[Task, str] = {
    Task.BINARY: "Predict one of two outcomes (yes/no, spam/ham, fails/works).",
    Task.MULTICLASS: "Predict one of several labels (species, product type).",
    Task.REGRESSION: "Predict a number (price, temperature, demand).",
    Task.CLUSTERING: "No target: find groups of similar rows.",
    Task.ANOMALY: "No target: score how unusual each row is and flag the most unusual ones.",
}


#: What a model of a task without a target does, for titles ("Isolation forest flagging unusual rows").
NO_TARGET_TITLES: dict[Task, str] = {Task.CLUSTERING: "clustering the rows", Task.ANOMALY: "flagging unusual rows"}


@dataclass(frozen=True)
class TaskGuess:
    """A detected task and the reason for it."""

    task: Task
    reason: str


@dataclass(frozen=True)
class TargetWarning:
    """Something about the target the person should know before training."""

    level: str  # "warning" or "error"
    message: str


@dataclass
class TargetChoice:
    """The person's decision on the Target page.

    ``positive`` is the class a binary model's probability is about (ROC curves, thresholds,
    explanations); None means the rule of :func:`positive_class`.
    """

    target: str | None
    task: Task
    task_reason: str
    features: list[str] = field(default_factory=list)
    positive: Any = None

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "task": self.task.value,
            "task_reason": self.task_reason,
            "features": list(self.features),
            "positive": plain_label(self.positive),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TargetChoice:
        return cls(
            data.get("target"),
            Task(data["task"]),
            data.get("task_reason", ""),
            list(data.get("features", [])),
            data.get("positive"),
        )


# --------------------------------------------------------------------------- the positive class


def plain_label(value: Any) -> Any:
    """A class label as a plain Python value (a numpy scalar becomes int, float, bool or str)."""
    return value.item() if hasattr(value, "item") else value


def is_positive_word(label: Any) -> bool:
    """Whether a label reads as the "yes" side of a yes/no target: yes, true, 1, positive …"""
    if isinstance(label, bool):
        return label
    if isinstance(label, int | float) and not pd.isna(label):
        return float(label) == 1.0
    return str(label).strip().lower() in POSITIVE_WORDS


def label_sort_key(label: Any) -> tuple[int, float, str]:
    """Order labels as scikit-learn's ``classes_`` does: numbers by value, text alphabetically."""
    if isinstance(label, bool | int | float):
        return (0, float(label), "")
    return (1, 0.0, str(label))


def positive_class(values: Iterable[Any]) -> Any:
    """The class a binary model's probability should be about, from the target's values (or just its labels).

    The rule: the one label that reads as "yes" (yes, true, 1, positive, …) if exactly one
    does; else the minority class; a tie goes to the label sorting last (scikit-learn's
    ``classes_[1]``). So benign/malignant gives malignant, no/yes gives yes whatever the
    counts, 0/1 gives 1, and labels given once each (``classes_``) give the yes-like or last one.
    """
    counts = pd.Series(list(values), dtype=object).dropna().value_counts(sort=False)
    if counts.empty:
        raise ValueError("A positive class needs at least one label.")
    labels = [plain_label(v) for v in counts.index]
    yes = [label for label in labels if is_positive_word(label)]
    if len(yes) == 1:
        return yes[0]
    fewest = counts.min()
    tied = [plain_label(v) for v, n in counts.items() if n == fewest]
    return max(tied, key=label_sort_key)


def class_labels(values: Iterable[Any]) -> list[Any]:
    """The distinct labels of a target, ordered as scikit-learn's ``classes_`` (plain Python values)."""
    present = pd.unique(pd.Series(list(values), dtype=object).dropna())
    return sorted((plain_label(v) for v in present), key=label_sort_key)


def positive_reason(values: Iterable[Any]) -> str:
    """Why :func:`positive_class` picks its label, in a few plain words."""
    values = list(values)
    picked = positive_class(values)
    if is_positive_word(picked) and sum(is_positive_word(v) for v in class_labels(values)) == 1:
        return 'it reads as the "yes" answer'
    counts = pd.Series(values, dtype=object).dropna().value_counts()
    if (counts == counts.min()).sum() > 1:
        return "both classes are as common, so the one sorting last"
    return "it is the rarer class"


def match_label(labels: Iterable[Any], wanted: Any) -> Any:
    """The label among ``labels`` equal to ``wanted`` (compared as values, then as text), or None."""
    labels, wanted = [plain_label(v) for v in labels], plain_label(wanted)
    if wanted is None:
        return None
    for label in labels:  # True == 1 in Python: a bool matches only a bool
        if label == wanted and isinstance(label, bool) == isinstance(wanted, bool):
            return label
    text = str(wanted)
    return next((label for label in labels if str(label) == text), None)


def resolve_positive(values: Iterable[Any], wanted: Any = None) -> Any:
    """The person's positive class if it is one of the labels in ``values``, else :func:`positive_class`."""
    values = list(values)
    found = match_label(pd.unique(pd.Series(values, dtype=object).dropna()), wanted)
    return found if found is not None else positive_class(values)


@dataclass(frozen=True)
class Imbalance:
    """The rarest class of an imbalanced target and its share of the rows."""

    label: object
    rows: int
    share: float


def imbalance(values: pd.Series) -> Imbalance | None:
    """The rarest class when the classes are imbalanced (see :data:`IMBALANCE_SHARE`), else ``None``."""
    counts = values.dropna().value_counts()
    if len(counts) < 2:
        return None
    share = float(counts.iloc[-1] / counts.sum())
    if share >= IMBALANCE_SHARE * 2 / len(counts):
        return None
    return Imbalance(counts.index[-1], int(counts.iloc[-1]), share)


#: A regression target with no negative values and a skewness above this (prices, counts: a long tail of
#: large values) is also tried on its logarithm (:func:`log_target_advice`, ``FeatureOptions.log_target``).
LOG_TARGET_SKEW = 1.0


def log_target_advice(values: pd.Series | None) -> str | None:
    """Why models should also be tried on the log of this regression target, in words; ``None`` when not.

    Suggested when every value is a number of at least 0 and the values are skewed to the right
    (skewness above :data:`LOG_TARGET_SKEW`).
    """
    if values is None:
        return None
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if len(numbers) < 20 or len(numbers) < values.notna().sum() or bool((numbers < 0).any()):
        return None
    skew = float(numbers.skew())
    if not skew > LOG_TARGET_SKEW:  # NaN (constant values) included
        return None
    name = _short(values.name) if values.name is not None else "the target"
    return (
        f"'{name}' has no negative values and a long tail of large ones (skewness {skew:.1f}), like prices and "
        f"counts: models that learn log(1 + {name}) often predict such values better. Tree and linear models are "
        f'also trained that way (named "… (log target)"), their predictions turned back into {name}, so every '
        "score is on its own scale and the leaderboard shows which did better."
    )


@dataclass(frozen=True)
class ClassLimit:
    """Why a target has more classes than the data (or the app) can support, and what to do."""

    problem: str
    fix: str

    @property
    def message(self) -> str:
        return f"{self.problem} {self.fix}"


def class_limit(values: pd.Series) -> ClassLimit | None:
    """The reason a classification target is refused for its classes, or ``None`` when it is usable.

    The one rule (used by the Target page, the Models page and :func:`core.training.make_request`):
    more than :data:`MAX_CLASSES` classes; fewer than :data:`MIN_ROWS_PER_CLASS` rows per class on
    average; or more than :data:`RARE_CLASSES_SHARE` of the classes under :data:`MIN_CLASS_ROWS`
    rows. Missing values are not a class.
    """
    present = values.dropna()
    counts = present.value_counts()
    classes, rows = len(counts), len(present)
    if classes < 2:
        return None
    name = _short(values.name) if values.name is not None else "the target"
    rare = int((counts < MIN_CLASS_ROWS).sum())
    if classes > MAX_CLASSES:
        problem = (
            f"'{name}' has {classes:,} classes; this app handles up to {MAX_CLASSES:,}, because every model, "
            "metric, chart and explanation works class by class."
        )
    elif rows < MIN_ROWS_PER_CLASS * classes:
        problem = (
            f"'{name}' has {classes:,} classes in {rows:,} rows, {rows / classes:.1f} rows per class on average; "
            f"a classifier needs at least {MIN_ROWS_PER_CLASS} per class to learn each one and to check it on rows "
            "it has not seen."
        )
    elif rare > RARE_CLASSES_SHARE * classes:
        examples = ", ".join(repr(_short(v)) for v in counts.index[counts < MIN_CLASS_ROWS][-3:])
        problem = (
            f"{rare:,} of the {classes:,} classes have fewer than {MIN_CLASS_ROWS} rows (such as {examples}), "
            "too few to appear in both the training and the validation rows."
        )
    else:
        return None
    numeric = pd.api.types.is_numeric_dtype(present.dtype) and not pd.api.types.is_bool_dtype(present.dtype)
    fix = (
        "It holds numbers: choose regression to predict them as a quantity, or group them into ranges."
        if numeric
        else "Group rare classes into fewer labels (for example 'other', or a category one level up) in the file, "
        "or choose another target."
    )
    return ClassLimit(problem, fix)


def detect_task(frame: pd.DataFrame, target: str | None) -> TaskGuess:
    """Detect the task from the target column (``None`` means clustering; anomaly detection is chosen, never detected)."""
    if target is None:
        return TaskGuess(
            Task.CLUSTERING,
            "no target column was chosen, so the rows are grouped instead (or choose anomaly detection to flag "
            "the unusual ones)",
        )
    if target not in frame.columns:
        raise TargetError(f"There is no column named '{target}'.", hint="Pick a column from the list.")
    values = frame[target].dropna()
    if values.empty:
        raise TargetError(
            f"Column '{target}' has no values, so there is nothing to predict.", hint="Pick another column."
        )
    distinct = int(values.nunique())
    if pd.api.types.is_bool_dtype(values.dtype):
        return TaskGuess(Task.BINARY, "the column holds true/false values")
    if pd.api.types.is_numeric_dtype(values.dtype):
        whole = pd.api.types.is_integer_dtype(values.dtype) or bool((values % 1 == 0).all())
        if distinct == 2:
            return TaskGuess(Task.BINARY, f"the column has exactly two values ({_pair(values)})")
        if whole and distinct <= MAX_INTEGER_CLASSES:
            return TaskGuess(Task.MULTICLASS, f"only {distinct} distinct whole numbers, which look like class codes")
        kind = "whole numbers" if whole else "numbers with decimals"
        return TaskGuess(Task.REGRESSION, f"{kind} with {distinct:,} distinct values")
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return TaskGuess(Task.REGRESSION, "dates are predicted as numbers (time since the earliest)")
    if distinct == 2:
        return TaskGuess(Task.BINARY, f"the column has exactly two labels ({_pair(values)})")
    return TaskGuess(Task.MULTICLASS, f"{distinct:,} distinct labels")


def allowed_tasks(frame: pd.DataFrame, target: str | None) -> list[Task]:
    """Tasks the person may switch to for this target."""
    if target is None:
        return [Task.CLUSTERING, Task.ANOMALY]
    values = frame[target].dropna()
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    distinct = values.nunique()
    tasks = []
    if distinct == 2:
        tasks.append(Task.BINARY)
    if distinct >= 2:
        tasks.append(Task.MULTICLASS)
    if numeric:
        tasks.append(Task.REGRESSION)
    return tasks


def validate_task(frame: pd.DataFrame, target: str | None, task: Task) -> None:
    """Refuse a task the target cannot support, with a message that says why."""
    if not task.has_target:
        return
    if target is None:
        raise TargetError(f"{task.value.capitalize()} needs a target column.", hint="Choose the column to predict.")
    if task not in allowed_tasks(frame, target):
        distinct = frame[target].nunique()
        if task == Task.REGRESSION:
            raise TargetError(
                f"Regression needs a numeric target, but '{target}' holds labels.",
                hint="Choose classification, or convert the column to numbers on the Clean page.",
            )
        raise TargetError(
            f"{task.value.capitalize()} needs {'exactly two' if task == Task.BINARY else 'at least two'} classes; '{target}' has {distinct}."
        )


def target_warnings(
    frame: pd.DataFrame, target: str | None, task: Task, role: Role | None = None
) -> list[TargetWarning]:
    """Checks a person should see before training on this target."""
    if target is None:
        return []
    column = frame[target]
    out: list[TargetWarning] = []
    missing = int(column.isna().sum())
    if missing:
        out.append(
            TargetWarning(
                "warning",
                f"{missing:,} rows ({missing / len(column):.1%}) have no value in '{target}'; they will be dropped before training.",
            )
        )
    values = column.dropna()
    if task.is_classification:
        counts = values.value_counts()
        if len(counts) < 2:
            out.append(
                TargetWarning(
                    "error",
                    f"'{target}' has only one class ({_short(counts.index[0])}); a classifier needs at least two.",
                )
            )
            return out
        limit = class_limit(values)
        if limit is not None:
            out.append(TargetWarning("error", limit.message))
            return out
        rare = imbalance(values)
        if rare is not None:
            out.append(
                TargetWarning(
                    "warning",
                    f"Classes are imbalanced: the rarest class, {_short(rare.label)!r}, is {rare.share:.1%} of rows ({rare.rows:,}). Accuracy can look good while that class is missed, so models will be ranked by balanced accuracy with class weights on (you can change both on the Models page).",
                )
            )
        if len(counts) > MANY_CLASSES:
            out.append(
                TargetWarning(
                    "warning",
                    f"'{target}' has {len(counts):,} classes. If it is a number, regression may fit better; if it is an ID or free text, choose another target.",
                )
            )
        smallest = int(counts.iloc[-1])
        if smallest < 5:
            out.append(
                TargetWarning(
                    "warning",
                    f"The class {_short(counts.index[-1])!r} has only {smallest} row(s); there may be too few to learn it or to split it across train, validation and test.",
                )
            )
    if task == Task.REGRESSION:
        distinct = values.nunique()
        if role == Role.ID:
            out.append(
                TargetWarning(
                    "warning",
                    f"'{target}' looks like an ID (a different value on every row). Predicting it is rarely meaningful.",
                )
            )
        elif distinct <= MAX_INTEGER_CLASSES * 2 and len(values) > 10 * distinct:
            out.append(
                TargetWarning(
                    "warning",
                    f"'{target}' has only {distinct} distinct values; it may be a category rather than a quantity. Consider classification.",
                )
            )
    return out


def default_features(
    columns: list[str],
    roles: dict[str, Role],
    target: str | None,
    role_reasons: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    task: Task | None = None,
) -> dict[str, tuple[bool, str]]:
    """Which columns start ticked as features, each with a reason.

    ID-like, constant and empty columns start unticked, with their role's reason; the target is
    never a feature. A ticked column shows its note (``RoleGuess.note``: why text that is mostly
    numbers or dates was not read as such) when it has one. For anomaly detection a column named
    like a known answer (:func:`is_label_name`) starts unticked too: a detector that sees it would
    flag its rare value, and left out it can check the detector on the Results page.
    """
    reasons, notes = role_reasons or {}, notes or {}
    out: dict[str, tuple[bool, str]] = {}
    for name in columns:
        if name == target:
            continue
        role = roles[name]
        if role.usable and task == Task.ANOMALY and is_label_name(name):
            out[name] = (False, KNOWN_ANSWER_REASON)
        elif role.usable:
            out[name] = (True, f"{role.value}: {notes[name]}" if notes.get(name) else role.value)
        else:
            detail = reasons.get(name)
            out[name] = (False, f"{role.value}: {detail}" if detail else role.value)
    return out


def _pair(values: pd.Series) -> str:
    return " / ".join(_short(v) for v in sorted(values.unique(), key=str)[:2])


def _short(value: object, limit: int = 30) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TARGET_NAMES = (
    "target",
    "label",
    "class",
    "y",
    "outcome",
    "result",
    "species",
    "diagnosis",
    "price",
    "failure",
    "churn",
    "survived",
    "default",
    "fraud",
    "quality",
)


#: Names of columns that usually hold a known answer (a label, not a quantity).
LABEL_NAMES = frozenset(name for name in _TARGET_NAMES if name != "price")
#: Why such a column starts unticked for anomaly detection (the Target page's "why" column).
KNOWN_ANSWER_REASON = "looks like a known answer: left out, so Results can check the detector against it"


#: Word starts that make a column's name read as a known answer wherever the word stands in it
#: (``fails_within_day``, ``is_fraud``, ``churned``); other answer words only as the whole name.
LABEL_WORD_STARTS = ("fail", "fraud", "churn", "defect", "anomal")


def is_label_name(column: str) -> bool:
    """Whether a column's name reads as a known answer (failure, fraud, churn, label, …)."""
    name = str(column).lower().strip()
    words = re.split(r"[^a-z0-9]+", name)
    return name in LABEL_NAMES or any(word.startswith(LABEL_WORD_STARTS) for word in words)


def suggest_target(columns: list[str], roles: dict[str, Role]) -> str | None:
    """A sensible first guess at the target: a telling name, else the last usable column."""
    lowered = {c.lower().strip(): c for c in columns}
    for name in _TARGET_NAMES:
        if name in lowered and roles.get(lowered[name], Role.EMPTY) in (Role.NUMERIC, Role.CATEGORICAL):
            return lowered[name]
    usable = [c for c in columns if roles.get(c) in (Role.NUMERIC, Role.CATEGORICAL)]
    return usable[-1] if usable else None
