"""An anomaly detector of a run, for the Results page, the report and the slides.

Its validation rows scored (:func:`scored_rows`: rows it never learned from), the run's agreement
between detectors (:func:`agreement_table`), and the optional check against a known answer: a
column of the loaded table that was not a feature (:func:`known_candidates`, :func:`check_known`),
its values brought to the validation rows by replaying the plan's row steps as
:func:`core.fairness.group_column` does. The rules themselves are in :mod:`core.anomaly`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import anomaly
from core.row_groups import group_column
from core.training import ModelFailure, TrainedModel, TrainingRequest


@dataclass(frozen=True)
class ScoredRows:
    """A detector's validation rows: the person's columns (index: the file's rows), scores, the model's threshold."""

    X: pd.DataFrame
    scores: np.ndarray
    threshold: float

    def top(self, at: float | None = None, limit: int = anomaly.TOP_ROWS) -> pd.DataFrame:
        """The rows above ``at`` (the model's threshold by default), most unusual first."""
        return anomaly.top_rows(self.X, self.scores, self.threshold if at is None else at, limit)

    def count_words(self, at: float | None = None) -> str:
        """'N of M validation rows above the threshold (x%)'."""
        return anomaly.threshold_words(self.scores, self.threshold if at is None else at, "validation rows")


def scored_rows(trained: TrainedModel, request: TrainingRequest) -> ScoredRows:
    """The validation rows of ``request`` scored by ``trained`` (fitted on the training rows only)."""
    X, _ = request.xy(request.split.valid)
    return ScoredRows(X, anomaly.anomaly_scores(trained.pipeline, X), anomaly.threshold(trained.pipeline))


def agreement_table(results: list[TrainedModel | ModelFailure], request: TrainingRequest) -> pd.DataFrame:
    """Rank correlation of every pair of the run's detectors on the validation rows (empty with fewer than two)."""
    trained = [r for r in results if isinstance(r, TrainedModel)]
    if len(trained) < 2:
        return pd.DataFrame()
    X, _ = request.xy(request.split.valid)
    return anomaly.agreement_matrix({m.name: anomaly.anomaly_scores(m.pipeline, X) for m in trained})


def known_candidates(request: TrainingRequest, source: pd.DataFrame) -> list[str]:
    """Columns of the loaded table that could be a known answer to check the score against (not features)."""
    return anomaly.known_columns(source, list(request.features))


def known_values(request: TrainingRequest, source: pd.DataFrame, column: str) -> pd.Series:
    """``column``'s value on each validation row, from the loaded table (the plan's row steps replayed)."""
    return group_column(request, source, column).iloc[request.split.valid].reset_index(drop=True)


def known_options(request: TrainingRequest, source: pd.DataFrame, column: str) -> tuple[list[Any], Any]:
    """The values of ``column`` on the validation rows a person may pick as the unusual one, and the one to
    start from (:func:`core.anomaly.unusual_value`, the rarer); ``([], None)`` when the column holds none."""
    values = known_values(request, source, column).dropna()
    if values.empty:
        return [], None
    return anomaly.known_values_offered(values), anomaly.unusual_value(values)


def check_known(
    rows: ScoredRows,
    request: TrainingRequest,
    source: pd.DataFrame,
    column: str,
    at: float | None = None,
    positive: Any = None,
) -> anomaly.KnownCheck:
    """How well the scores of ``rows`` (validation rows) find a known answer in ``column``, at threshold ``at``.

    Raises:
        DashboardError: the column is not in the table, the table is not the one trained on, or the
            column does not hold two values on the validation rows.
    """
    values = known_values(request, source, column)
    return anomaly.known_check(rows.scores, values, rows.threshold if at is None else at, column, positive)
