"""What an explanation is: contributions per person's column, its output's name, and the cost estimate.

An :class:`Explanation` holds SHAP values already summed back to the person's
columns (one-hot, TF-IDF, date parts → their source column; interaction terms
and ratios, which come from two columns, are split equally between them), the
original un-scaled rows they explain, and the raw per-feature values for
drilling into a text column's tokens.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.explain.timing import Timing
from core.numbers import format_number
from core.target import Task, is_positive_word

#: The default time budget of an explanation, in seconds (the approximate tree mode is chosen beyond it).
BUDGET_SECONDS = 10.0
#: Defaults (rows, tree mode) are planned to take this share of the budget: the run may meet a busier
#: machine than the probe did, and it should still end within the budget.
PLANNED_SHARE = 0.7
#: Default number of rows explained.
DEFAULT_ROWS = 1_000

#: The "no" side of yes/no labels: named with the target ("churn = no"), like numbers and yes-words.
_NEGATIVE_WORDS = {"0", "0.0", "false", "f", "no", "n", "negative", "neg"}


@dataclass(frozen=True)
class Estimate:
    """The expected cost of an explanation, shown before it runs.

    Attributes:
        method: The method that will run, e.g. ``"TreeSHAP (exact)"``.
        rows: Rows that will be explained.
        seconds_estimate: Expected wall time in seconds.
        note: One or two plain sentences for the person (alternatives, what fits the budget).
        approximate: Whether the approximate tree mode will run.
        approximate_available: Whether the person can switch to the approximate tree mode.
        seconds_per_row: Expected marginal cost of one more row.
        rows_in_budget: How many rows fit in the budget with this method (at least 1).
        setup_seconds: The part of ``seconds_estimate`` paid once, whatever the rows.
        timing: What the estimate was made from (measured on this model, or rules of thumb):
            give it back to :func:`core.explain.estimate` for other row counts or modes, and to
            :func:`core.explain.explain` to size its chunks and say the time left from the start.
    """

    method: str
    rows: int
    seconds_estimate: float
    note: str
    approximate: bool = False
    approximate_available: bool = False
    seconds_per_row: float = 0.0
    rows_in_budget: int = 0
    setup_seconds: float = 0.0
    timing: Timing | None = None

    @property
    def timed(self) -> bool:
        """Whether the estimate was measured on this model and data."""
        return self.timing is not None and self.timing.timed


@dataclass
class Explanation:
    """SHAP contributions of one model in the person's columns.

    ``values[i, j]`` is how much column ``columns[j]`` pushed row ``i``'s
    ``output`` away from ``base_value``; ``base_value + values[i].sum()`` is the
    model's output for that row (in ``output`` units). ``base_value`` is the mean
    output over the background rows (``background`` says which). For multiclass models
    ``per_class`` keeps every class (rows × columns × classes) and
    :meth:`for_class` gives the view of one class; binary models explain the
    positive class (``class_index``) and :meth:`for_class` of the other flips the sign.

    A multiclass explanation starts with no class chosen (``class_index`` None, "all classes"):
    each row's ``values`` are its push on its own predicted class (``predicted_index``), so one
    row is explained for the class the model gave it (:meth:`for_row`), and importance is the
    mean |contribution| over every class (:func:`importance_frame`).

    Attributes:
        values: rows × columns contributions for the explained output.
        base_value: The mean output over the background rows (the starting point).
        data: The explained rows, original values, in the person's columns.
        columns: The person's columns, in the order of ``values``.
        output: ``"probability"``, ``"log-odds"`` or, for regression, the target's name (its units).
        output_name: How to call the output in sentences ("failure probability", "predicted price").
        classes: Class labels (classification) or None.
        method: ``"TreeSHAP (exact)"``, ``"TreeSHAP (approximate)"``, ``"LinearSHAP"`` or ``"Permutation SHAP"``.
        rows: Rows explained.
        seconds: Wall time spent.
        raw_values: Ungrouped contributions per model feature (rows × features[ × classes]).
        raw_names: Model feature names (``"text_0__free"``); the person's columns for Permutation SHAP.
        raw_sources: Source columns of each raw feature.
        per_class: rows × columns × classes (multiclass only).
        base_values: Base value per class (multiclass only).
        class_index: Which class ``values`` describes (classification); None for a multiclass
            explanation with no class chosen (each row: its predicted class).
        predicted_index: The model's predicted class of each row, as an index into ``classes`` (multiclass).
        raw_present: rows × raw features (sparse, boolean): where the model's input is not zero, e.g.
            which rows contain a word; None for Permutation SHAP (its features are the person's columns).
        partial: True when the run was stopped before every row was explained.
        rows_requested: Rows the run was asked to explain (``rows`` of them were; 0: as many as ``rows``).
        model_name: The model's display name.
        target: The target column.
        task: The task.
        note: Anything the person should know (method choice, background size).
        background_rows: Training rows the contributions are measured against (a sample);
            0 when the method needs none (TreeSHAP uses the trees' own row counts).
        background: Which rows the base value is the mean over, in words that follow "over"
            ("50 training rows sampled at random, keeping each class's share").
    """

    values: np.ndarray
    base_value: float
    data: pd.DataFrame
    columns: list[str]
    output: str
    output_name: str
    classes: list[Any] | None
    method: str
    rows: int
    seconds: float
    raw_values: np.ndarray
    raw_names: list[str]
    raw_sources: list[tuple[str, ...]] = field(default_factory=list)
    per_class: np.ndarray | None = None
    base_values: np.ndarray | None = None
    class_index: int | None = None
    partial: bool = False
    model_name: str = ""
    target: str | None = None
    task: Task | None = None
    note: str = ""
    background_rows: int = 0
    background: str = ""
    predicted_index: np.ndarray | None = None
    raw_present: Any = None
    rows_requested: int = 0

    @property
    def all_classes(self) -> bool:
        """A multiclass explanation with no class chosen: each row shows its push on its predicted class."""
        return self.per_class is not None and self.class_index is None

    @property
    def base_values_per_row(self) -> np.ndarray:
        """Each row's starting point: the base value of the class its ``values`` describe."""
        if self.all_classes and self.base_values is not None and self.predicted_index is not None:
            return np.asarray(self.base_values, dtype=float)[self.predicted_index]
        return np.full(self.rows, float(self.base_value))

    def for_row(self, i: int) -> Explanation:
        """The view one row is explained in: its predicted class unless a class was chosen."""
        if self.all_classes and self.predicted_index is not None:
            return self.for_class(int(self.predicted_index[i]))
        return self

    @property
    def base_label(self) -> str:
        """The base value's short name, for charts: "mean over 50 sampled training rows"."""
        if self.background_rows and self.background.startswith("all "):
            return f"mean over all {self.background_rows:,} training rows"
        if self.background_rows:
            return f"mean over {self.background_rows:,} sampled training rows"
        if "weighted" in self.background:
            return "class-weighted mean over the training rows"
        return "mean over the training rows" if self.background else "base value"

    @property
    def approximate(self) -> bool:
        """Whether the approximate tree mode was used (explain more rows the same way with it)."""
        return self.method == "TreeSHAP (approximate)"

    @property
    def predictions(self) -> np.ndarray:
        """The model's output per row in ``output`` units (base value plus contributions)."""
        return self.base_values_per_row + self.values.sum(axis=1)

    @property
    def class_label(self) -> Any:
        """The class ``values`` describes, or None for regression."""
        if self.classes is None or self.class_index is None:
            return None
        return self.classes[self.class_index]

    def column_values(self, column: str) -> np.ndarray:
        """The contributions of one column, one per row."""
        return self.values[:, self.columns.index(column)]

    def raw_for_class(self) -> np.ndarray:
        """Raw (ungrouped) values for the class ``values`` describes: rows × features."""
        if self.raw_values.ndim == 3:
            if self.class_index is None and self.predicted_index is not None:
                return self.raw_values[np.arange(len(self.raw_values)), :, self.predicted_index]
            return self.raw_values[:, :, self.class_index or 0]
        return self.raw_values

    def for_class(self, index: int) -> Explanation:
        """The same explanation for class number ``index`` (classification only)."""
        if self.classes is None:
            raise ValueError("Only classification explanations have classes.")
        if not 0 <= index < len(self.classes):
            raise ValueError(f"Class index must be in [0, {len(self.classes) - 1}]. Got {index}.")
        raw = self.raw_values
        if self.per_class is not None and self.base_values is not None:
            values, base = self.per_class[:, :, index], float(self.base_values[index])
        elif index == self.class_index:
            return self
        else:  # binary: the other class's probability is 1 - p, its log-odds -z
            values, raw = -self.values, -self.raw_values
            base = (1.0 - self.base_value) if self.output == "probability" else -self.base_value
        name = output_name(self.task, self.target, self.output, self.classes, index)
        return dataclasses.replace(
            self, values=values, raw_values=raw, base_value=base, class_index=index, output_name=name
        )

    def subset(self, rows: np.ndarray | slice) -> Explanation:
        """The explanation of some of its rows (positions)."""
        data = self.data.iloc[rows]
        return dataclasses.replace(
            self,
            values=self.values[rows],
            data=data,
            raw_values=self.raw_values[rows],
            per_class=None if self.per_class is None else self.per_class[rows],
            predicted_index=None if self.predicted_index is None else self.predicted_index[rows],
            raw_present=None if self.raw_present is None else self.raw_present[rows],
            rows=len(data),
        )


# --------------------------------------------------------------------------- naming the output


def class_phrase(target: str | None, label: Any) -> str:
    """One class named in a sentence: ``'malignant'``, or with its target for numbers and yes/no labels (``failure = 1``)."""
    text = str(label).strip()
    if (
        isinstance(label, bool | int | float)
        or _is_number(text)
        or is_positive_word(label)
        or text.lower() in _NEGATIVE_WORDS
    ):
        return f"{target or 'the target'} = {text}"
    return f"'{text}'"


def output_name(
    task: Task | None, target: str | None, output: str, classes: list[Any] | None, index: int | None
) -> str:
    """How to call an explained output in a sentence; it always names the class.

    Examples: ``"probability of 'malignant'"``, ``"log-odds of 'spam'"``, ``"probability of failure = 1"``,
    ``"score (log-odds) of 'virginica'"``, ``"probability of the predicted class"`` (multiclass, no class
    chosen), ``"predicted price"``.
    """
    if task == Task.ANOMALY:
        return "anomaly score"
    if classes is None or task == Task.REGRESSION:
        return f"predicted {target or 'the target'}"
    what = "the predicted class" if index is None else class_phrase(target, classes[index])
    if output == "probability":
        return f"probability of {what}"
    return f"log-odds of {what}" if len(classes) == 2 else f"score (log-odds) of {what}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- grouping


def grouping_matrix(sources: list[tuple[str, ...]], columns: list[str]) -> np.ndarray:
    """features × columns weights that sum each feature into its source column(s).

    A feature from one column goes to it whole; a feature built from several
    columns (an interaction term ``a b`` or a ratio ``a / b``) is split equally
    between them, so contributions still add up to the model's output.
    """
    where = {c: j for j, c in enumerate(columns)}
    matrix = np.zeros((len(sources), len(columns)))
    for i, cols in enumerate(sources):
        known = [where[c] for c in cols if c in where]
        for j in known:
            matrix[i, j] = 1.0 / len(known)
    return matrix


def group_values(raw: np.ndarray, sources: list[tuple[str, ...]], columns: list[str]) -> np.ndarray:
    """Sum raw per-feature values (rows × features[ × classes]) into the person's columns."""
    matrix = grouping_matrix(sources, columns)
    if raw.ndim == 3:
        return np.einsum("nfk,fc->nck", raw, matrix)
    return raw @ matrix


def used_columns(trained: Any, frame_columns: list[str] | None = None) -> list[str]:
    """The person's columns the model uses, in the order the pipeline received them."""
    first = trained.pipeline.steps[0][1]
    inputs = [str(c) for c in getattr(first, "feature_names_in_", frame_columns or [])]
    used = {c for _, cols in trained.sources for c in cols}
    return [c for c in inputs if c in used] if used else inputs


def importance_frame(expl: Explanation) -> pd.DataFrame:
    """Mean |contribution| per column, largest first, with its share of the total.

    For a multiclass explanation with no class chosen, the mean is over every row and every class.

    Returns:
        DataFrame(column, mean_abs, share, mean) — ``mean`` is the signed average push.
    """
    if expl.rows == 0:
        return pd.DataFrame({"column": expl.columns, "mean_abs": 0.0, "share": 0.0, "mean": 0.0})
    if expl.all_classes and expl.per_class is not None:  # no class chosen: a column's push on any class, averaged
        mean_abs = np.abs(expl.per_class).mean(axis=(0, 2))
    else:
        mean_abs = np.abs(expl.values).mean(axis=0)
    total = mean_abs.sum()
    frame = pd.DataFrame(
        {
            "column": expl.columns,
            "mean_abs": mean_abs,
            "share": mean_abs / total if total > 0 else 0.0,
            "mean": expl.values.mean(axis=0),
        }
    )
    return frame.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- formatting


def format_duration(seconds: float) -> str:
    """Seconds for people: "0.4 s", "12 s", "3 min", "1.5 h"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_time_left(seconds: float | None) -> str:
    """Time left in words for a progress bar: "about 40 s left", "about 3 min left".

    Rounded so the words do not flicker: whole seconds below 10 s, fives below 90 s.
    """
    if seconds is None or not math.isfinite(seconds):
        return "estimating the time left"
    if seconds < 1:
        return "about 1 s left"
    if seconds < 10:
        return f"about {math.ceil(seconds)} s left"
    if seconds < 90:
        return f"about {5 * round(seconds / 5):.0f} s left"
    return f"about {format_duration(seconds)} left"


def cancelled_note(expl: Explanation) -> str:
    """What a cancelled run explained: "Explained 300 of 1,000 rows; cancelled." (empty when it finished)."""
    if not expl.partial:
        return ""
    asked = max(expl.rows_requested, expl.rows)
    if expl.rows == 0:
        return f"Explained 0 of {asked:,} rows; cancelled before the first row was done."
    return f"Explained {expl.rows:,} of {asked:,} rows; cancelled."


def is_missing(value: Any) -> bool:
    """Whether one cell is missing: None, NaN, NaT or pd.NA (a list-like cell is a value)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(value: Any, limit: int = 40) -> str:
    """A cell of the person's data as short text (numbers formatted, missing shown as such)."""
    if is_missing(value):
        return "missing"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer():  # 1990.0 (a year in a column with gaps) reads as 1990
            return format_value(int(number))
        if abs(number) >= 1000:  # data values keep their digits: 1,093.5 → 1,094, never 1,090
            return f"{number:,.0f}"
        return format_number(number)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def features_importance(raw_names: list[str], raw_values: np.ndarray, new_columns: Iterable[str]) -> pd.DataFrame:
    """The mean size of the contributions of ``new_columns`` (e.g. the time features), largest first.

    ``raw_names`` are the model's features, named ``branch__name``; ``raw_values`` their values per row.
    """
    wanted = set(new_columns)
    names = [n.split("__", 1)[-1] for n in raw_names]
    picks = [i for i, name in enumerate(names) if name in wanted]
    values = np.abs(np.asarray(raw_values)[:, picks]).mean(axis=0) if picks else np.zeros(0)
    if np.ndim(values) > 1:  # one output per class: their mean
        values = values.mean(axis=-1)
    frame = pd.DataFrame({"feature": [names[i] for i in picks], "mean_abs": values})
    return frame.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)
