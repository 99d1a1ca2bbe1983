"""Choosing the method, estimating its cost, explaining rows in chunks with progress and Stop.

The method follows the model's spec (``get_spec(key).explainer``):

* ``"tree"`` → TreeSHAP on the final estimator (exact; the approximate Saabas
  mode where exact would blow the budget — full-depth random forests);
* ``"linear"`` → LinearSHAP on the final estimator;
* ``"kernel"`` (Keras, SVM, k-NN, naive Bayes, the baseline) → Permutation SHAP
  over the whole pipeline on the person's columns.

A tree or linear model shap cannot read (or whose target transform is not
linear) falls back to Permutation SHAP, and says so in the note.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.engine import ClusterJob
from core.errors import DashboardError
from core.explain.background import SAMPLE_ROWS, SUMMARY_ROWS, representative_rows, sample_rows
from core.explain.result import (
    BUDGET_SECONDS,
    DEFAULT_ROWS,
    Estimate,
    Explanation,
    format_duration,
    group_values,
    is_missing,
    output_name,
    used_columns,
)
from core.target import Task, match_label, positive_class
from core.training import transform_only

#: Rough cost of one model evaluation inside Permutation SHAP when it cannot be timed (seconds).
KERNEL_SECONDS_PER_EVALUATION = 5e-6
#: Rows Permutation SHAP is timed on by :func:`estimate`.
CALIBRATION_ROWS = 10
#: Progress steps for the slow methods (exact TreeSHAP, Permutation SHAP).
PROGRESS_STEPS = 20


def explainer_kind(trained: Any) -> str:
    """``"tree"``, ``"linear"`` or ``"kernel"``, as the model's spec declares."""
    from core.registry import get_spec

    return get_spec(trained.key).explainer


@dataclass
class Explainer:
    """A method prepared for one model and background; reuse it to explain more rows (what-if)."""

    trained: Any
    method: Any
    columns: list[str]
    seconds_prepare: float
    note: str = ""
    target: str | None = None
    positive: Any = None  # binary: the class explained

    def explain(
        self,
        rows: pd.DataFrame,
        *,
        listener: ev.Listener = ev.ignore,
        should_stop=lambda: False,
        steps: int = 1,
    ) -> Explanation:
        """Explain ``rows`` in ``steps`` chunks, emitting :class:`core.events.StepEnded` after each.

        When ``should_stop()`` turns true, the rows explained so far are returned, flagged ``partial``.
        """
        started = time.perf_counter()
        steps = max(1, min(steps, len(rows))) if len(rows) else 0
        bounds = np.linspace(0, len(rows), steps + 1).round().astype(int)
        parts: list[np.ndarray] = []
        done = 0
        for step in range(steps):
            if should_stop():
                break
            chunk = rows.iloc[bounds[step] : bounds[step + 1]]
            parts.append(self.method(chunk))
            done = bounds[step + 1]
            listener(
                ev.StepEnded(
                    model=f"Explaining {self.trained.name}", step=step + 1, steps=steps, metrics={"rows": float(done)}
                )
            )
        outputs = len(np.atleast_1d(self.method.base))
        raw = np.concatenate(parts) if parts else np.zeros((0, len(self.method.names), outputs))
        seconds = self.seconds_prepare + time.perf_counter() - started
        return self._assemble(rows.iloc[:done], raw, seconds, partial=done < len(rows))

    def _assemble(self, rows: pd.DataFrame, raw: np.ndarray, seconds: float, partial: bool) -> Explanation:
        trained, method = self.trained, self.method
        base = np.atleast_1d(np.asarray(method.base, dtype=float))
        target = self.target or getattr(trained, "target", None)
        common = {
            "data": rows[self.columns],
            "columns": list(self.columns),
            "method": method.label,
            "rows": len(rows),
            "seconds": seconds,
            "raw_names": list(method.names),
            "raw_sources": list(method.sources),
            "partial": partial,
            "model_name": trained.name,
            "target": target,
            "task": trained.task,
            "note": " ".join(n for n in (self.note, method.note) if n),
            "background_rows": int(getattr(method, "background_rows", 0)),
            "background": str(getattr(method, "background_text", "")),
            "raw_present": method.present(rows) if hasattr(method, "present") and len(rows) else None,
        }
        if not trained.task.is_classification:
            kind = target or "value"
            return Explanation(
                values=group_values(raw[..., 0], method.sources, self.columns),
                base_value=float(base[0]),
                output=kind,
                output_name=output_name(trained.task, target, kind, None, None),
                classes=None,
                raw_values=raw[..., 0],
                **common,
            )
        classes = [_plain(c) for c in getattr(trained.pipeline, "classes_", [])] or list(range(max(2, raw.shape[-1])))
        output = method.output
        if raw.shape[-1] <= 2 and len(classes) == 2:  # binary: explain the positive class
            index = next((i for i, c in enumerate(classes) if match_label([c], self.positive) is not None), 1)
            if raw.shape[-1] == 2:  # one output per class (probabilities)
                raw_one, start = raw[..., index], float(base[index])
            elif index == 1:  # one output, about classes[1]
                raw_one, start = raw[..., 0], float(base[0])
            else:  # the other class: log-odds −z, probability 1 − p
                raw_one, start = -raw[..., 0], (1.0 - base[0] if output == "probability" else -float(base[0]))
            return Explanation(
                values=group_values(raw_one, method.sources, self.columns),
                base_value=float(start),
                output=output,
                output_name=output_name(trained.task, target, output, classes, index),
                classes=classes,
                raw_values=raw_one,
                class_index=index,
                **common,
            )
        per_class = group_values(raw, method.sources, self.columns)
        predicted = self._predicted_index(rows, classes, base, per_class)
        return Explanation(
            values=per_class[np.arange(len(rows)), :, predicted],
            base_value=float("nan"),  # one per row: base_values[predicted_index]
            output=output,
            output_name=output_name(trained.task, target, output, classes, None),
            classes=classes,
            raw_values=raw,
            per_class=per_class,
            base_values=base,
            class_index=None,
            predicted_index=predicted,
            **common,
        )

    def _predicted_index(
        self, rows: pd.DataFrame, classes: list, base: np.ndarray, per_class: np.ndarray
    ) -> np.ndarray:
        """The model's predicted class of each row (index into ``classes``); the top output where it says none."""
        top = np.argmax(base[None, :] + per_class.sum(axis=1), axis=1) if len(rows) else np.zeros(0, dtype=int)
        if not len(rows):
            return top
        where = {str(c): i for i, c in enumerate(classes)}
        predicted = [where.get(str(_plain(p))) for p in self.trained.pipeline.predict(rows)]
        return np.asarray([t if p is None else p for p, t in zip(predicted, top, strict=True)], dtype=int)


def _check(trained: Any, frame: pd.DataFrame) -> None:
    if trained.task == Task.CLUSTERING:
        raise DashboardError(
            "Explanations need a target: clustering models have no prediction to explain.",
            hint="Look at the per-cluster feature profiles on the Results page instead.",
        )
    first = trained.pipeline.steps[0][1]
    missing = [c for c in getattr(first, "feature_names_in_", []) if c not in frame.columns]
    if missing:
        raise DashboardError(
            f"The rows to explain lack {len(missing)} column(s) the model uses, e.g. {missing[0]!r}.",
            hint="Explain rows from the same table the model was trained on.",
        )


def prepare_explainer(
    trained: Any,
    background_frame: pd.DataFrame,
    *,
    approximate: bool = False,
    seed: int = 0,
    background_rows: int = SUMMARY_ROWS,
    permutations: int = 1,
    target: str | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
) -> Explainer:
    """Set up the model's explanation method against a background (training rows).

    Args:
        trained: A :class:`core.training.TrainedModel`.
        background_frame: Rows the contributions are measured against (training rows, person's columns).
        approximate: Use the approximate (Saabas) tree mode where available.
        seed: Random seed (background sample, column orders).
        background_rows: Training rows kept for Permutation SHAP (a seeded sample, stratified by ``background_y``).
        permutations: Forward-and-backward passes per row for Permutation SHAP.
        target: The target column's name, to name the output ("probability of failure = 1").
        background_y: The target of each background row: the sample keeps each class's share
            (or a number target's spread). None gives a plain random sample.
        positive: Binary models: the class explained (``TrainingRequest.positive``); None applies
            :func:`core.target.positive_class` to ``background_y`` (or to the classes alone).
    """
    from core.explain.methods import LinearMethod, TreeMethod
    from core.explain.permutation import PermutationMethod

    _check(trained, background_frame)
    started = time.perf_counter()
    columns = used_columns(trained, list(background_frame.columns))
    kind = explainer_kind(trained)
    classification = trained.task.is_classification
    positive = _positive(trained, positive, background_y)
    note = ""
    if kind in ("tree", "linear"):
        try:
            if kind == "tree":
                method = TreeMethod(trained, approximate=approximate)
            else:
                sample = representative_rows(
                    background_frame, SAMPLE_ROWS, seed, background_y, classification=classification
                )
                method = LinearMethod(trained, transform_only(trained.pipeline, sample.frame))
                method.background_text = sample.described
            return Explainer(trained, method, columns, time.perf_counter() - started, target=target, positive=positive)
        except Exception as exc:  # shap cannot read this model: the model-agnostic method still works
            note = f"{kind.capitalize()} SHAP is not available for this model ({type(exc).__name__}); using Permutation SHAP."
    chosen = representative_rows(background_frame, background_rows, seed, background_y, classification=classification)
    weights = np.full(chosen.rows, 1.0 / max(1, chosen.rows))
    method = PermutationMethod(trained, chosen.frame, weights, columns, permutations=permutations, seed=seed)
    method.background_text = chosen.described
    method.note += f" Background: {chosen.described}."
    return Explainer(trained, method, columns, time.perf_counter() - started, note, target, positive)


def _positive(trained: Any, positive: Any, background_y: pd.Series | None) -> Any:
    """The class a binary model's explanation is about (None for other tasks)."""
    classes = [_plain(c) for c in getattr(trained.pipeline, "classes_", [])]
    if trained.task != Task.BINARY or len(classes) != 2:
        return None
    found = match_label(classes, positive)
    if found is None:
        labels = list(background_y) if background_y is not None and len(background_y) else classes
        found = match_label(classes, positive_class(labels))
    return classes[-1] if found is None else found


# --------------------------------------------------------------------------- budget


def estimate(
    trained: Any,
    n_rows: int,
    approximate: bool | None = None,
    *,
    background_frame: pd.DataFrame | None = None,
    budget: float = BUDGET_SECONDS,
    seed: int = 0,
) -> Estimate:
    """What explaining ``n_rows`` rows will cost, before running it.

    Tree and linear models use rules from the model's size (trees' leaves and
    depths, measured constants); Permutation SHAP is timed on a few rows when a
    ``background_frame`` is given (else a rough rule).

    Args:
        trained: The trained model.
        n_rows: Rows the person wants explained.
        approximate: Force (True) or refuse (False) the approximate tree mode; None chooses
            it only when exact TreeSHAP would not fit the budget.
        background_frame: Training rows, to time Permutation SHAP.
        budget: Seconds the person is expected to wait.
        seed: Random seed.
    """
    kind = explainer_kind(trained)
    if kind == "tree":
        return _estimate_tree(trained, n_rows, approximate, budget)
    if kind == "linear":
        per_row = 2e-5
        return _finish("LinearSHAP", n_rows, 0.05, per_row, budget, "Exact and fast: coefficients × centred values.")
    if background_frame is None:
        m = len(used_columns(trained))
        per_row = max(0, 2 * m - 2) * SUMMARY_ROWS * KERNEL_SECONDS_PER_EVALUATION
        return _finish("Permutation SHAP", n_rows, 0.5, per_row, budget, "Rough guess (not timed on this model).")
    explainer = prepare_explainer(trained, background_frame, seed=seed)
    probe = sample_rows(background_frame, CALIBRATION_ROWS + 2, seed + 1)
    explainer.method(probe.iloc[:2])  # warm-up: first calls pay one-off costs (e.g. Keras tracing)
    started = time.perf_counter()
    explainer.method(probe.iloc[2:])
    per_row = (time.perf_counter() - started) / max(1, len(probe) - 2)
    note = f"Timed on {len(probe) - 2} rows."
    return _finish("Permutation SHAP", n_rows, explainer.seconds_prepare, per_row, budget, note)


def _estimate_tree(trained: Any, n_rows: int, approximate: bool | None, budget: float) -> Estimate:
    from core.explain.methods import tree_seconds_per_row

    exact_row, approx_row = tree_seconds_per_row(trained)
    available = not hasattr(_final(trained), "booster_")  # LightGBM has no approximate mode (and needs none)
    setup = 0.2
    exact_total = setup + exact_row * n_rows
    if approximate is None:
        approximate = available and exact_total > budget
    approximate = bool(approximate and available)
    if approximate:
        note = (
            f"Exact TreeSHAP would take about {format_duration(exact_total)} for {n_rows:,} rows; "
            "the approximate mode (Saabas) is used instead."
        )
        est = _finish("TreeSHAP (approximate)", n_rows, setup, approx_row, budget, note)
    else:
        note = "Exact TreeSHAP." + (
            f" The approximate mode would take about {format_duration(setup + approx_row * n_rows)}."
            if available and exact_total > 2
            else ""
        )
        est = _finish("TreeSHAP (exact)", n_rows, setup, exact_row, budget, note)
    return Estimate(**{**est.__dict__, "approximate": approximate, "approximate_available": available})


def _final(trained: Any) -> Any:
    model = trained.pipeline.steps[-1][1]
    return getattr(model, "regressor_", model)


def _finish(method: str, n_rows: int, setup: float, per_row: float, budget: float, note: str) -> Estimate:
    total = setup + per_row * n_rows
    fits = int(max(0.0, budget - setup) / per_row) if per_row > 0 else n_rows
    if total > budget:
        note += f" About {min(fits, n_rows):,} rows fit in {budget:g} s."
    return Estimate(method, n_rows, total, note.strip(), seconds_per_row=per_row, rows_in_budget=min(fits, n_rows))


# --------------------------------------------------------------------------- running


def explain(
    trained: Any,
    rows_frame: pd.DataFrame,
    background_frame: pd.DataFrame,
    *,
    approximate: bool | None = None,
    max_rows: int = DEFAULT_ROWS,
    seed: int = 0,
    listener: ev.Listener = ev.ignore,
    should_stop=lambda: False,
    budget: float = BUDGET_SECONDS,
    permutations: int = 1,
    target: str | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
) -> Explanation:
    """Explain up to ``max_rows`` rows of ``rows_frame`` in the person's columns.

    Args:
        trained: A :class:`core.training.TrainedModel` (classification or regression).
        rows_frame: Rows to explain (e.g. the validation split), person's columns; a seeded
            sample of ``max_rows`` is taken when larger (original index kept).
        background_frame: Training rows the contributions are measured against.
        approximate: Tree models only: True/False forces the mode; None (default) uses exact
            TreeSHAP unless it would not fit ``budget`` seconds.
        max_rows: At most this many rows are explained.
        seed: Random seed (row sample, background, column orders).
        listener: Receives ``StepEnded(model=f"Explaining {name}", step, steps)`` after each chunk.
        should_stop: Checked between chunks; when true the rows done so far are returned (``partial``).
        budget: Seconds, for the automatic choice of the approximate tree mode.
        permutations: Passes per row for Permutation SHAP.
        target: The target column's name, to name the output in sentences.
        background_y: The target of each background row, so the background keeps each class's share.
        positive: Binary models: the class explained; None applies :func:`core.target.positive_class`.
    """
    _check(trained, rows_frame)
    rows = sample_rows(rows_frame, max_rows, seed)
    if explainer_kind(trained) == "tree" and approximate is None:
        approximate = _estimate_tree(trained, len(rows), None, budget).approximate
    explainer = prepare_explainer(
        trained,
        background_frame,
        approximate=bool(approximate),
        seed=seed,
        permutations=permutations,
        target=target,
        background_y=background_y,
        positive=positive,
    )
    slow = explainer.method.label in ("TreeSHAP (exact)", "Permutation SHAP")
    steps = PROGRESS_STEPS if slow else 4
    return explainer.explain(rows, listener=listener, should_stop=should_stop, steps=steps)


@dataclass
class WhatIf:
    """The model's answer for one (edited) row and why.

    Attributes:
        prediction: The predicted class or value.
        probabilities: Class → probability (classification with probabilities), else None.
        explanation: A one-row :class:`Explanation`.
    """

    prediction: Any
    probabilities: dict[Any, float] | None
    explanation: Explanation


def explain_row(
    trained: Any,
    row_frame: pd.DataFrame,
    background_frame: pd.DataFrame,
    *,
    explainer: Explainer | None = None,
    seed: int = 0,
    target: str | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
) -> WhatIf:
    """Prediction, probabilities and a one-row explanation, for the what-if form.

    Keep the :class:`Explainer` from :func:`what_if_explainer` and pass it as
    ``explainer`` to skip the set-up (background summary) on every edit.
    """
    _check(trained, row_frame)
    row = row_frame.iloc[:1]
    explainer = explainer or what_if_explainer(
        trained, background_frame, seed=seed, target=target, background_y=background_y, positive=positive
    )
    explanation = explainer.explain(row)
    prediction = trained.pipeline.predict(row)[0]
    probabilities = None
    if trained.task.is_classification and hasattr(trained.pipeline, "predict_proba"):
        proba = trained.pipeline.predict_proba(row)[0]
        probabilities = {_plain(c): float(p) for c, p in zip(trained.pipeline.classes_, proba, strict=False)}
    return WhatIf(_plain(prediction), probabilities, explanation)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for dict keys and display)."""
    return value.item() if hasattr(value, "item") else value


def what_if_explainer(
    trained: Any,
    background_frame: pd.DataFrame,
    *,
    seed: int = 0,
    target: str | None = None,
    approximate: bool | None = None,
    background_y: pd.Series | None = None,
    positive: Any = None,
) -> Explainer:
    """An explainer for single rows set up exactly like :func:`explain`'s.

    Same background rows (size and choice: give the same ``background_y``), same passes,
    same seed, same positive class: an unedited row gets the base value and contributions
    it has in the main explanation.

    Args:
        trained: The trained model.
        background_frame: The training rows given to :func:`explain`.
        seed: The seed given to :func:`explain`.
        target: The target column's name.
        approximate: Tree models: the mode the main explanation used
            (:attr:`Explanation.approximate`); None picks exact unless one row would be slow.
        background_y: The ``background_y`` given to :func:`explain`.
        positive: The ``positive`` given to :func:`explain`.
    """
    if approximate is None:
        approximate = explainer_kind(trained) == "tree" and _estimate_tree(trained, 1, None, budget=1.5).approximate
    return prepare_explainer(
        trained,
        background_frame,
        approximate=bool(approximate),
        seed=seed,
        target=target,
        background_y=background_y,
        positive=positive,
    )


def edit_row(row_frame: pd.DataFrame, changes: dict[str, Any]) -> pd.DataFrame:
    """The first row of ``row_frame`` with some values changed, for the what-if form.

    ``None`` (or NaN/NaT) makes a value missing, stored as the column's own missing
    value so the pipeline imputes it as it did in training. Other values keep the
    column's dtype when they fit it (an edited ``3.0`` in an integer column stays ``3``).
    """
    row = row_frame.iloc[:1].copy()
    for column, value in changes.items():
        old = row[column]
        if is_missing(value):
            if pd.api.types.is_datetime64_any_dtype(old.dtype):
                new = pd.Series([pd.NaT], index=row.index, dtype=old.dtype)
            elif pd.api.types.is_numeric_dtype(old.dtype) and not pd.api.types.is_bool_dtype(old.dtype):
                new = pd.Series([np.nan], index=row.index, dtype=float)
            else:
                new = pd.Series([None], index=row.index, dtype=object if old.dtype == bool else old.dtype)
        else:
            new = pd.Series([value], index=row.index)
            try:
                fitted = new.astype(old.dtype)
                if fitted.astype(object).iloc[0] == new.astype(object).iloc[0]:
                    new = fitted
            except (TypeError, ValueError):
                pass
        row[column] = new
    return row


class ExplainJob(ClusterJob):
    """:func:`explain` as one task on the cluster; the :class:`Explanation` is the job's result (partial if stopped)."""

    name = "explain-job"

    def __init__(self, trained: Any, rows_frame: pd.DataFrame, background_frame: pd.DataFrame, **options: Any) -> None:
        self.trained = trained

        def work(listen, should_stop, keep):
            result = explain(trained, rows_frame, background_frame, listener=listen, should_stop=should_stop, **options)
            keep(result)
            return result

        super().__init__(work)
