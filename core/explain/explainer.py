"""Choosing how to explain a model and setting that method up: the :class:`Explainer`.

The method follows the model's spec (``get_spec(key).explainer``):

* ``"tree"`` → TreeSHAP on the final estimator (exact; the approximate Saabas
  mode where exact would blow the budget — full-depth random forests);
* ``"linear"`` → LinearSHAP on the final estimator;
* ``"kernel"`` (Keras, SVM, k-NN, naive Bayes, the baseline) → Permutation SHAP
  over the whole pipeline on the person's columns; a network over the last rows
  (``spec.needs_time_order``) → Permutation SHAP over its windows
  (:mod:`core.explain.sequence`), summed per source column.

A tree or linear model shap cannot read (or whose target transform is not
linear) falls back to Permutation SHAP, and says so in the note.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import events as ev
from core.errors import DashboardError
from core.explain.background import SAMPLE_ROWS, SUMMARY_ROWS, representative_rows
from core.explain.methods import LinearMethod, TreeMethod
from core.explain.permutation import PermutationMethod
from core.explain.result import (
    Explanation,
    group_values,
    output_name,
    used_columns,
)
from core.explain.sequence import SequenceMethod
from core.explain.timing import Clock, Cost, Pace
from core.registry import get_spec
from core.target import Task, match_label, positive_class
from core.training import transform_only


def explainer_kind(trained: Any) -> str:
    """``"tree"``, ``"linear"`` or ``"kernel"``, as the model's spec declares.

    A tree model that splits on categories (histogram gradient boosting with native categories)
    is ``"kernel"``: shap's TreeSHAP reads those splits as thresholds and its values do not add
    up to the prediction (off by 3.8 on a 30-level test table).
    """

    kind = get_spec(trained.key).explainer
    return "kernel" if kind == "tree" and splits_on_categories(trained.pipeline.steps[-1][1]) else kind


def splits_on_categories(model: Any) -> bool:
    """Whether a fitted model (or the model inside a target transform) splits on category codes."""
    inner = getattr(model, "regressor_", model)
    flags = getattr(inner, "is_categorical_", None)
    return flags is not None and bool(np.any(flags))


#: Why a tree model that splits on categories is explained with Permutation SHAP.
CATEGORY_SPLITS_NOTE = (
    "This model splits on categories directly, which TreeSHAP cannot read; Permutation SHAP explains it "
    "over your columns instead."
)


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
        cost: Cost | None = None,
        clock: Clock = time.perf_counter,
    ) -> Explanation:
        """Explain ``rows`` in chunks of about a second, emitting :class:`core.events.RowsExplained`.

        One event before the first chunk (the time left from ``cost``, the expected cost, if
        given) and one after each chunk, with the time left from the pace so far. When
        ``should_stop()`` turns true between chunks, the rows finished so far are returned,
        flagged ``partial``.
        """
        started = clock()
        pace = Pace(len(rows), cost, clock)
        parts: list[np.ndarray] = []
        if hasattr(self.method, "set_context"):  # rows given together are one another's past (a sequence network)
            self.method.set_context(rows)
        self._progress(listener, pace)
        while pace.done < len(rows) and not should_stop():
            size = pace.next_rows()
            parts.append(self.method(rows.iloc[pace.done : pace.done + size]))
            pace.record(size)
            self._progress(listener, pace)
        outputs = len(np.atleast_1d(self.method.base))
        raw = np.concatenate(parts) if parts else np.zeros((0, len(self.method.names), outputs))
        finished = rows.iloc[: pace.done]
        explanation = self._assemble(finished, raw, 0.0, partial=pace.done < len(rows))
        explanation.seconds = self.seconds_prepare + clock() - started
        explanation.rows_requested = len(rows)
        return explanation

    def _progress(self, listener: ev.Listener, pace: Pace) -> None:
        listener(
            ev.RowsExplained(
                model=f"Explaining {self.trained.name}",
                step=pace.chunks_done,
                steps=pace.chunks_expected,
                metrics={"rows": float(pace.done)},
                rows=pace.done,
                rows_total=pace.total,
                seconds_left=pace.seconds_left,
            )
        )

    def with_mode(self, approximate: bool) -> Explainer:
        """The same explainer in the exact or approximate tree mode (other methods: itself)."""
        if not hasattr(self.method, "with_mode") or self.method.approximate == bool(approximate):
            return self
        return dataclasses.replace(self, method=self.method.with_mode(approximate))

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
            kind = "anomaly score" if trained.task == Task.ANOMALY else target or "value"
            return Explanation(
                values=group_values(raw[..., 0], method.sources, self.columns),
                base_value=float(base[0]),
                output=kind,
                output_name=output_name(trained.task, target, kind, None, None),
                classes=None,
                raw_values=raw[..., 0],
                **common,
            )
        classes = [plain_value(c) for c in getattr(trained.pipeline, "classes_", [])] or list(
            range(max(2, raw.shape[-1]))
        )
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
        predicted = [where.get(str(plain_value(p))) for p in self.trained.pipeline.predict(rows)]
        return np.asarray([t if p is None else p for p, t in zip(predicted, top, strict=True)], dtype=int)


def check_rows(trained: Any, frame: pd.DataFrame) -> None:
    if not trained.task.explained:  # (an anomaly detector is explained through its anomaly score)
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
    clock: Clock = time.perf_counter,
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
        clock: Seconds now, for ``seconds_prepare`` (tests pass a fake clock).
    """

    check_rows(trained, background_frame)
    started = clock()
    columns = used_columns(trained, list(background_frame.columns))
    kind = explainer_kind(trained)
    classification = trained.task.is_classification
    positive = explained_positive(trained, positive, background_y)
    note = CATEGORY_SPLITS_NOTE if kind == "kernel" and splits_on_categories(trained.pipeline.steps[-1][1]) else ""
    if kind in ("tree", "linear"):
        try:
            if kind == "tree":
                method: TreeMethod | LinearMethod = TreeMethod(trained, approximate=approximate)
            else:
                sample = representative_rows(
                    background_frame, SAMPLE_ROWS, seed, background_y, classification=classification
                )
                method = LinearMethod(trained, transform_only(trained.pipeline, sample.frame))
                method.background_text = sample.described
            return Explainer(trained, method, columns, clock() - started, target=target, positive=positive)
        except Exception as exc:  # shap cannot read this model: the model-agnostic method still works
            note = f"{kind.capitalize()} SHAP is not available for this model ({type(exc).__name__}); using Permutation SHAP."
    chosen = representative_rows(background_frame, background_rows, seed, background_y, classification=classification)
    weights = np.full(chosen.rows, 1.0 / max(1, chosen.rows))
    if get_spec(trained.key).needs_time_order:  # a network over windows of rows: explained on its windows
        windowed = SequenceMethod(trained, chosen.frame, weights, permutations=permutations, seed=seed)
        windowed.background_text = chosen.described
        windowed.note += f" Background: {chosen.described}."
        return Explainer(trained, windowed, columns, clock() - started, "", target, positive)
    permutation = PermutationMethod(trained, chosen.frame, weights, columns, permutations=permutations, seed=seed)
    permutation.background_text = chosen.described
    permutation.note += f" Background: {chosen.described}."
    return Explainer(trained, permutation, columns, clock() - started, note, target, positive)


def explained_positive(trained: Any, positive: Any, background_y: pd.Series | None) -> Any:
    """The class a binary model's explanation is about (None for other tasks)."""
    classes = [plain_value(c) for c in getattr(trained.pipeline, "classes_", [])]
    if trained.task != Task.BINARY or len(classes) != 2:
        return None
    found = match_label(classes, positive)
    if found is None:
        labels = list(background_y) if background_y is not None and len(background_y) else classes
        found = match_label(classes, positive_class(labels))
    return classes[-1] if found is None else found


def final_estimator(trained: Any) -> Any:
    model = trained.pipeline.steps[-1][1]
    return getattr(model, "regressor_", model)


def plain_value(value: Any) -> Any:
    """A numpy scalar as the Python value (for dict keys and display)."""
    return value.item() if hasattr(value, "item") else value
