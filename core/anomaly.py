"""Anomaly detection without labels: the score, the threshold, and what can be said of a detector.

One rule everywhere (training, the leaderboard, Results, Predict, explanations, bundles and the
served model): an **anomaly score is higher for a more unusual row**. It is the negative of
scikit-learn's ``score_samples`` (higher there for a more usual row), so rows rank exactly as
scikit-learn ranks them, most unusual first. A row is **flagged** when its score is above the
model's **threshold**, the estimator's own boundary ``-offset_``: scikit-learn sets it from the
expected share of unusual rows on the training rows (that share's quantile of their scores for the
isolation forest and the local outlier factor; where ``nu`` draws the border for the one-class SVM),
so the flagged rows are exactly those its ``predict`` calls -1, in the app and in every export.

Without labels nothing here can say which detector is right. What can be said: how many rows it
flags on rows it did not learn from (:data:`core.metrics.METRICS` ``flagged_share``), how clearly
the flagged rows stand apart (``separation``), how alike the detectors of a run rank the same rows
(``agreement``), and, when the table holds a known answer that was not a feature, how well the
score finds it (:func:`known_check`). Pure functions over arrays and frames: no training stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.limits import MAX_OPTIONS
from core.target import class_labels, is_label_name, label_sort_key, match_label, plain_label

#: The columns a scored frame gets (Predict, the served model, the Results table).
SCORE_COLUMN = "anomaly score"
FLAG_COLUMN = "unusual"
#: How a flagged row reads in the ``unusual`` column.
FLAGGED, NOT_FLAGGED = "yes", "no"
#: The most unusual rows a table shows (the rest are counted, not listed).
TOP_ROWS = 100
#: What the app cannot do without labels, said wherever detectors are compared or chosen.
NO_LABELS = (
    "Without labels the app cannot tell which detector is right: their scores are on different scales and "
    "no row is known to be unusual."
)
#: How the run's detector is chosen, in words (:func:`core.training.views.best_model`).
CHOICE_RULE = "it keeps the first detector you picked that trained (the isolation forest unless you changed the order)"


def final_step(model: Any) -> Any:
    """The estimator at the end of a pipeline (or the estimator itself)."""
    return model.steps[-1][1] if hasattr(model, "steps") else model


def anomaly_scores(model: Any, X: Any) -> np.ndarray:
    """Each row's anomaly score (higher = more unusual) from a fitted pipeline or estimator."""
    return -np.asarray(model.score_samples(X), dtype=float).ravel()


def threshold(model: Any) -> float:
    """The score a row is flagged above: the fitted estimator's own boundary (see the module's docs)."""
    return -float(np.ravel(final_step(model).offset_)[0])  # the one-class SVM keeps it as a 1-element array


def training_scores(estimator: Any, Xt: Any) -> np.ndarray:
    """The scores of the rows ``estimator`` was fitted on (``Xt``: their model inputs).

    The local outlier factor keeps its own scores of its training rows, each judged without
    counting itself as a neighbour; scored again as new rows, each would find itself at distance 0
    and look more usual than it is (scikit-learn warns against it).
    """
    own = getattr(estimator, "negative_outlier_factor_", None)
    return -np.asarray(own, dtype=float) if own is not None else anomaly_scores(estimator, Xt)


def flagged(scores: np.ndarray, at: float) -> np.ndarray:
    """True where a row's score is above the threshold ``at`` (as the estimator's ``predict`` decides)."""
    return np.asarray(scores, dtype=float) > at


def separation(scores: np.ndarray, at: float) -> float:
    """How far the flagged rows stand from the others: median flagged − median of the rest, ÷ the scores' IQR.

    Free of the detector's scale (its scores' interquartile range is the unit), so detectors can be put
    side by side; NaN when no row or every row is flagged, or the scores have no spread.
    """
    scores = np.asarray(scores, dtype=float)
    above = flagged(scores, at)
    if not len(scores) or not above.any() or above.all():
        return float("nan")
    q1, q3 = np.percentile(scores, [25, 75])
    if q3 - q1 <= 0:
        return float("nan")
    return float((np.median(scores[above]) - np.median(scores[~above])) / (q3 - q1))


def summary(scores: np.ndarray, at: float) -> dict[str, float]:
    """The scores a detector gets on some rows: ``flagged_share`` and ``separation`` (see :mod:`core.metrics`)."""
    scores = np.asarray(scores, dtype=float)
    share = float(flagged(scores, at).mean()) if len(scores) else float("nan")
    return {"flagged_share": share, "separation": separation(scores, at)}


def agreement_matrix(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Spearman rank correlation of every pair of detectors' scores of the same rows (1 = the same order)."""
    return pd.DataFrame({name: np.asarray(values, dtype=float) for name, values in scores.items()}).corr("spearman")


def agreement(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Each detector's mean rank correlation with the others' scores of the same rows; empty with one detector."""
    if len(scores) < 2:
        return {}
    matrix = agreement_matrix(scores).to_numpy()
    others = ~np.eye(len(matrix), dtype=bool)
    return {name: float(np.nanmean(matrix[i][others[i]])) for i, name in enumerate(scores)}


def undefined_reason(key: str, scores: np.ndarray, at: float, detectors: int = 1) -> str | None:
    """Why ``key`` (``flagged_share``, ``separation`` or ``agreement``) has no value on these rows, in words."""
    scores = np.asarray(scores, dtype=float)
    if not len(scores):
        return "There are no rows to score."
    if key == "agreement" and detectors < 2:
        return "Agreement compares the detectors of a run on the same rows: train two or more to see it."
    if key != "separation":
        return None
    above = flagged(scores, at)
    if not above.any():
        return "No row scores above the threshold, so there are no flagged rows to compare with the others."
    if above.all():
        return "Every row scores above the threshold, so there are no usual rows to compare the flagged ones with."
    q1, q3 = np.percentile(scores, [25, 75])
    if q3 - q1 <= 0:
        return "Half the rows or more have the same score, so the scores have no spread to measure against."
    return None


def top_rows(X: pd.DataFrame, scores: np.ndarray, at: float, limit: int = TOP_ROWS) -> pd.DataFrame:
    """The rows above ``at``, most unusual first (at most ``limit``): ``row`` (the file's row), the score, the columns.

    Ties keep the rows' order. ``attrs["above"]`` counts every row above the threshold; ``attrs["positions"]``
    holds each shown row's position in ``X``.
    """
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    above = order[scores[order] > at]
    shown = above[:limit]
    table = X.iloc[shown].copy()
    table.insert(0, SCORE_COLUMN, scores[shown])
    table.insert(0, "row", X.index[shown])
    table = table.reset_index(drop=True)
    table.attrs["above"] = len(above)
    table.attrs["positions"] = [int(p) for p in shown]
    return table


def scored(scores: np.ndarray, at: float) -> pd.DataFrame:
    """The columns a scored file gets: the score and whether the row is flagged (yes/no)."""
    scores = np.asarray(scores, dtype=float)
    return pd.DataFrame({SCORE_COLUMN: scores, FLAG_COLUMN: np.where(flagged(scores, at), FLAGGED, NOT_FLAGGED)})


def threshold_words(scores: np.ndarray, at: float, rows_word: str = "rows") -> str:
    """'N of M rows above the threshold (x%)', the count the slider shows."""
    scores = np.asarray(scores, dtype=float)
    count, total = int(flagged(scores, at).sum()), len(scores)
    share = f" ({count / total:.1%})" if total else ""
    return f"{count:,} of {total:,} {rows_word} above the threshold{share}"


# --------------------------------------------------------------------------- a known answer


@dataclass(frozen=True)
class KnownCheck:
    """How well the anomaly score finds one value of a column that was not a feature (on some rows).

    ``roc_auc`` and ``pr_auc`` judge the score's order (every threshold); ``precision`` (of the
    flagged rows, the share holding ``positive``) and ``recall`` (of the rows holding it, the share
    flagged) judge the threshold ``at``.
    """

    column: str
    positive: Any
    at: float
    rows: int
    positives: int
    flagged: int
    hits: int
    roc_auc: float
    pr_auc: float
    #: The column's other value(s) on these rows (what a ROC-AUC below 0.5 points at).
    others: tuple = ()

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else float("nan")

    @property
    def recall(self) -> float:
        return self.hits / self.positives if self.positives else float("nan")

    @property
    def base_rate(self) -> float:
        """The share of rows holding ``positive``: the precision of flagging rows at random."""
        return self.positives / self.rows if self.rows else float("nan")

    def words(self) -> str:
        """What the check says, in plain words (user values quoted as they are: escape before Markdown)."""
        value = f"{self.column} = {self.positive}"
        found = (
            f"Of the {self.flagged:,} flagged rows, {self.hits:,} have {value} (precision {self.precision:.0%}, "
            f"against {self.base_rate:.1%} of all these rows)"
            if self.flagged
            else "No row is flagged at this threshold"
        )
        return (
            f"{found}; the flagged rows hold {self.hits:,} of the {self.positives:,} rows with {value} "
            f"(recall {self.recall:.0%}). ROC-AUC {self.roc_auc:.3f}: the chance that a row with {value} scores "
            "above one without it (0.5 = no better than chance)." + self.reversed_words()
        )

    def reversed_words(self) -> str:
        """Said when ROC-AUC is below 0.5: the high scores point at the other value(s), not at ``positive``."""
        if not self.roc_auc < 0.5:
            return ""
        other = " or ".join(f"{self.column} = {v}" for v in self.others) or f"the rows without {self.positive}"
        return (
            f" Below 0.5: the higher scores point at {other}, not at {self.column} = {self.positive}. If {other} is "
            "the unusual kind of row, pick it as the unusual value."
        )


def unusual_value(values: Any) -> Any:
    """The value of a known column taken as the unusual one unless the person picks another: the rarer value.

    Anomalies are rare, whatever the value is called: in scikit-learn's breast cancer table ``target = 1``
    is *benign* (63% of the rows) and the unusual rows are the malignant ``0``. A tie goes to the value
    sorting last (1 of 0/1, yes of no/yes).
    """
    counts = pd.Series(np.asarray(values, dtype=object)).dropna().map(plain_label).value_counts(sort=False)
    if counts.empty:
        raise ValueError("An unusual value needs at least one value.")
    fewest = counts.min()
    return max((v for v, n in counts.items() if n == fewest), key=label_sort_key)


def known_values_offered(values: Any) -> list[Any]:
    """The values a person may pick as the unusual one: the column's values, sorted, at most ``MAX_OPTIONS``."""
    return class_labels(pd.Series(np.asarray(values, dtype=object)).dropna())[:MAX_OPTIONS]


def known_check(scores: np.ndarray, values: pd.Series, at: float, column: str, positive: Any = None) -> KnownCheck:
    """Check the score against a column's known answer (one value against the rest) on the same rows.

    ``values`` holds the column's value for each scored row; rows without one are left out. The value
    looked for is ``positive`` if it is one of them, else :func:`unusual_value` (the rarer value).

    Raises:
        DashboardError: the column does not hold exactly two values on these rows.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = np.asarray(scores, dtype=float)
    values = pd.Series(np.asarray(values, dtype=object))
    if len(values) != len(scores):
        raise DashboardError(f"'{column}' has {len(values)} values for {len(scores)} scored rows.")
    present = values.notna().to_numpy()
    labels = class_labels(values[present])
    if len(labels) != 2:
        raise DashboardError(
            f"'{column}' holds {len(labels)} different values on these rows; the check needs a column with two "
            "(such as yes/no or 0/1).",
            hint="Pick another column, or none.",
        )
    scores, values = scores[present], values[present]
    found = match_label(labels, positive)
    chosen = plain_label(found if found is not None else unusual_value(values))
    hit = np.asarray([plain_label(v) == chosen for v in values])
    above = flagged(scores, at)
    return KnownCheck(
        column,
        chosen,
        float(at),
        len(scores),
        int(hit.sum()),
        int(above.sum()),
        int((above & hit).sum()),
        float(roc_auc_score(hit, scores)),
        float(average_precision_score(hit, scores)),
        tuple(v for v in labels if v != chosen),
    )


def known_columns(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """Columns of ``frame`` that could hold a known answer: not features, exactly two values; label-named first."""
    out = [c for c in frame.columns if c not in features and frame[c].nunique(dropna=True) == 2]
    return sorted(out, key=lambda c: not is_label_name(c))
