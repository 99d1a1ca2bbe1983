"""Checks on a trained model: one column doing all the work, and scores too good to be true.

Run after training, on validation rows (never test rows):

* **one column carries most of the importance**: the permutation importance
  (how much the score drops when that column is shuffled) of one column is
  more than half of all the columns' together;
* **too good to be true**: the validation score, on the scale where the
  baseline is 0 and a perfect model 1 (R² for numbers, the share of log loss
  removed for classes), is near perfect. Real outcomes are rarely that
  predictable; together with a dominant column it points at leakage.

Neither alone is a finding: on honest data one strong column often carries
most of the importance (a house's area, a message's sender), and easy tables
(wine, digits) score near perfectly. A dominant column with a near-perfect
score, or one the leakage scan already called a likely leak, is a "likely
leak"; a dominant column the scan found "worth a look" stays worth a look; a
near-perfect score beside columns the scan flagged is "worth a look".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import DashboardError
from core.explain.importance import permutation_importance_frame
from core.guards.findings import Finding, Level
from core.guards.thresholds import THRESHOLDS
from core.metrics import METRICS
from core.target import Task


def model_power(scores: dict[str, float], task: Task, y_valid: pd.Series | None) -> float | None:
    """A validation score on the baseline-0, perfect-1 scale, or ``None`` when it cannot be computed.

    Regression: R². Classification: 1 − log loss / the log loss of always
    predicting the validation rows' class shares.
    """
    if task == Task.REGRESSION:
        value = scores.get("r2")
        return float(value) if value is not None and np.isfinite(value) else None
    if not task.is_classification or y_valid is None or "log_loss" not in scores:
        return None
    shares = y_valid.value_counts(normalize=True).to_numpy()
    entropy = -float(np.sum(shares * np.log(shares)))
    loss = scores["log_loss"]
    if entropy <= 0 or not np.isfinite(loss):
        return None
    return 1.0 - float(loss) / entropy


def importance_share(importance: pd.DataFrame) -> tuple[str, float] | None:
    """The column with the largest permutation importance and its share of the total (positive parts only)."""
    if importance is None or importance.empty:
        return None
    values = importance.set_index("column")["importance_mean"].clip(lower=0)
    total = float(values.sum())
    if total <= 0:
        return None
    top = values.idxmax()
    return str(top), float(values[top] / total)


def model_findings(
    trained: Any,
    request: Any,
    importance: pd.DataFrame | None = None,
) -> list[Finding]:
    """The after-training checks for one trained model of ``request`` (a :class:`core.training.TrainingRequest`).

    ``importance`` is a :func:`core.explain.permutation_importance_frame` on
    validation rows; it is computed (on at most 1,000 rows) when not given. A
    refitted model is checked as it was scored there (``trained.validated()``).
    """
    if request.task == Task.CLUSTERING or request.target is None or trained.key == "baseline":
        return []
    trained = trained.validated()
    _, y_valid = request.xy(request.split.valid)
    power = model_power(trained.scores, request.task, y_valid)
    too_good = power is not None and power >= THRESHOLDS.too_good
    scan = request.leakage
    flagged = [f.column for f in scan.findings if f.column in request.features] if scan is not None else []
    if not (too_good or flagged):
        return []  # no finding is possible: spare the permutation importance (90 predictions of a big forest)
    if importance is None:
        importance = validation_importance(trained, request)
    dominant = importance_share(importance) if importance is not None else None
    if dominant is not None and dominant[1] > THRESHOLDS.importance_share and (too_good or dominant[0] in flagged):
        column, share = dominant
        before = scan.flagged(column) if scan is not None else None
        # A near-perfect score, or a column the scan already called a likely leak, makes it one; a column the
        # scan only found worth a look stays so (an honest strong column, such as a house's area, leans too).
        level = Level.LEAK if too_good or (before is not None and before.level == Level.LEAK) else Level.LOOK
        evidence = (
            f"The model leans on it alone: it carries {share:.0%} of what the model relies on (shuffling it "
            "costs more than all other columns together)"
            + (f", and the validation score is near perfect ({_score_text(trained, request.task)})" if too_good else "")
            + (f", and the leakage scan found it {before.level} before training" if before is not None else "")
            + "."
        )
        fix = (
            f"Check that '{column}' is known before the moment you predict and is not computed from "
            f"'{request.target}'; untick it on the Target page and train again to see the honest score."
        )
        return [Finding(level, column, evidence, fix, "importance", share)]
    if too_good and flagged:
        evidence = (
            f"The validation score is near perfect ({_score_text(trained, request.task)}) and the leakage scan "
            "flagged " + ", ".join(f"'{c}'" for c in flagged[:3]) + " before training: real outcomes are rarely "
            "this predictable."
        )
        fix = "Untick the flagged columns on the Target page and train again to see the honest score."
        return [Finding(Level.LOOK, None, evidence, fix, "too_good", power)]
    return []


def validation_importance(trained: Any, request: Any, *, max_rows: int = 1_000) -> pd.DataFrame | None:
    """Permutation importance of ``trained`` (before a refit) on (at most ``max_rows``) validation rows, or ``None``."""
    trained = trained.validated()
    X_valid, y_valid = request.xy(request.split.valid)
    if y_valid is None or y_valid.nunique() < 2:
        return None
    try:
        return permutation_importance_frame(
            trained, X_valid, y_valid, request.task, repeats=3, seed=request.seed, max_rows=max_rows
        )
    except DashboardError:
        return None


def _score_text(trained: Any, task: Task) -> str:
    key = "r2" if task == Task.REGRESSION else ("roc_auc" if "roc_auc" in trained.scores else "accuracy")
    value = trained.scores.get(key)
    return f"{METRICS[key].label} {value:.3f}" if value is not None else "near perfect"
