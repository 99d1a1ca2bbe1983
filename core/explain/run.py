"""Choosing the method, estimating its cost, explaining rows in chunks with progress and Stop.

The method follows the model's spec (``get_spec(key).explainer``):

* ``"tree"`` → TreeSHAP on the final estimator (exact; the approximate Saabas
  mode where exact would blow the budget — full-depth random forests);
* ``"linear"`` → LinearSHAP on the final estimator;
* ``"kernel"`` (Keras, SVM, k-NN, naive Bayes, the baseline) → Permutation SHAP
  over the whole pipeline on the person's columns.

A tree or linear model shap cannot read (or whose target transform is not
linear) falls back to Permutation SHAP, and says so in the note.

:func:`estimate` sets the method up as :func:`explain` will and times it on a few of
the rows (:mod:`core.explain.timing`); the automatic tree mode and the rows offered by
default follow from that timing. A run explains its rows in chunks of about a second,
reporting rows done and time left after each, and Stop keeps the finished chunks.
"""

from __future__ import annotations

import dataclasses
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
    PLANNED_SHARE,
    Estimate,
    Explanation,
    format_duration,
    group_values,
    is_missing,
    output_name,
    used_columns,
)
from core.explain.timing import PROBE_CALL_SECONDS, PROBE_MAX_ROWS, Clock, Cost, Pace, Timing, probe
from core.target import Task, match_label, positive_class
from core.training import transform_only

#: Rough cost of one model evaluation inside Permutation SHAP when it cannot be timed (seconds).
KERNEL_SECONDS_PER_EVALUATION = 5e-6


def explainer_kind(trained: Any) -> str:
    """``"tree"``, ``"linear"`` or ``"kernel"``, as the model's spec declares.

    A tree model that splits on categories (histogram gradient boosting with native categories)
    is ``"kernel"``: shap's TreeSHAP reads those splits as thresholds and its values do not add
    up to the prediction (off by 3.8 on a 30-level test table).
    """
    from core.registry import get_spec

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
    from core.explain.methods import LinearMethod, TreeMethod
    from core.explain.permutation import PermutationMethod

    _check(trained, background_frame)
    started = clock()
    columns = used_columns(trained, list(background_frame.columns))
    kind = explainer_kind(trained)
    classification = trained.task.is_classification
    positive = _positive(trained, positive, background_y)
    note = CATEGORY_SPLITS_NOTE if kind == "kernel" and splits_on_categories(trained.pipeline.steps[-1][1]) else ""
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
            return Explainer(trained, method, columns, clock() - started, target=target, positive=positive)
        except Exception as exc:  # shap cannot read this model: the model-agnostic method still works
            note = f"{kind.capitalize()} SHAP is not available for this model ({type(exc).__name__}); using Permutation SHAP."
    chosen = representative_rows(background_frame, background_rows, seed, background_y, classification=classification)
    weights = np.full(chosen.rows, 1.0 / max(1, chosen.rows))
    method = PermutationMethod(trained, chosen.frame, weights, columns, permutations=permutations, seed=seed)
    method.background_text = chosen.described
    method.note += f" Background: {chosen.described}."
    return Explainer(trained, method, columns, clock() - started, note, target, positive)


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
    rows_frame: pd.DataFrame | None = None,
    budget: float = BUDGET_SECONDS,
    seed: int = 0,
    background_y: pd.Series | None = None,
    positive: Any = None,
    timing: Timing | None = None,
    start: float | None = None,
    clock: Clock = time.perf_counter,
) -> Estimate:
    """What explaining ``n_rows`` rows will cost, before running it.

    With a ``background_frame`` the method is set up exactly as :func:`explain` will set it
    up and timed on a few rows (:func:`core.explain.timing.probe`, about a second): the
    estimate is that set-up plus the measured cost per chunk and per row, extrapolated to
    ``n_rows``. Without one, rules of thumb from the model's size give a rough figure.
    Pass the returned ``timing`` back to estimate other row counts or modes without timing again.

    Args:
        trained: The trained model.
        n_rows: Rows the person wants explained.
        approximate: Force (True) or refuse (False) the approximate tree mode; None chooses
            it only when exact TreeSHAP would not fit the budget.
        background_frame: Training rows, as given to :func:`explain`.
        rows_frame: The rows that will be explained (the probe times some of them); else training rows.
        budget: Seconds the person is expected to wait.
        seed: Random seed, as given to :func:`explain`.
        background_y: The target of the background rows, as given to :func:`explain`.
        positive: The class explained, as given to :func:`explain`.
        timing: A timing from an earlier estimate of the same model and data.
        start: Seconds a run pays to start where it runs and come back (an :class:`ExplainJob`:
            :func:`core.engine.job_seconds`); None keeps ``timing``'s (0 for a new one).
        clock: Seconds now (tests pass a fake clock).
    """
    if timing is None and background_frame is not None:
        rows = sample_rows(rows_frame if rows_frame is not None else background_frame, PROBE_MAX_ROWS, seed)
        explainer = prepare_explainer(
            trained, background_frame, seed=seed, background_y=background_y, positive=positive, clock=clock
        )
        timing = measure(explainer, rows, clock=clock)
    timing = timing or rule_timing(trained)
    if start is not None:
        timing = dataclasses.replace(timing, start=start)
    return _estimate(timing, n_rows, approximate, budget)


def measure(explainer: Explainer, rows: pd.DataFrame, *, clock: Clock = time.perf_counter) -> Timing:
    """Time a prepared explainer on some of ``rows`` (and its approximate tree mode, where there is one).

    Permutation SHAP first times the model's predictions (:func:`_prediction_seconds`): a model
    so slow that one row would take longer than a probe's call is estimated from them alone;
    otherwise they are a floor for the per-row cost the rows give.
    """
    started = clock()
    predictions = _prediction_seconds(explainer, clock)
    least_per_row = predictions.per_row if predictions is not None else 0.0
    if predictions is not None and least_per_row >= PROBE_CALL_SECONDS:
        return Timing(predictions)
    before = clock() - started
    costs = []
    modes = [False, True] if getattr(explainer.method, "approximate_available", False) else [False]
    for approximate in modes:
        prepared = explainer.with_mode(approximate)
        last: dict[str, Any] = {}

        def chunk(part: pd.DataFrame, method=prepared.method, last=last) -> None:
            last["rows"], last["raw"] = part, method(part)

        cost = probe(
            chunk,
            rows,
            method=prepared.method.label,
            setup=prepared.seconds_prepare,
            warm_up=predictions is None,  # the predictions warmed the model up (a Keras network's tracing)
            least_per_row=least_per_row,
            clock=clock,
        )
        if last:  # a run assembles its rows once: a fixed cost
            t0 = clock()
            prepared._assemble(last["rows"], last["raw"], 0.0, partial=False)
            assembling = clock() - t0
            cost = dataclasses.replace(
                cost, setup=cost.setup + assembling, probe_seconds=cost.probe_seconds + assembling + before
            )
        costs.append(cost)
    return Timing(costs[0], costs[1] if len(costs) > 1 else None)


def _prediction_seconds(explainer: Explainer, clock: Clock) -> Cost | None:
    """Permutation SHAP: the cost of a row's predictions alone, from the model's time per prediction
    on batches of background rows × the predictions a row costs (None for other methods)."""
    method = explainer.method
    if not hasattr(method, "seconds_per_evaluation"):
        return None
    started = clock()
    per_evaluation, predictions = method.seconds_per_evaluation(clock=clock)
    return Cost(
        method.label,
        explainer.seconds_prepare,
        0.0,
        per_evaluation * method.evaluations_per_row(),
        timed_on=f"{predictions:,} predictions",
        probe_seconds=explainer.seconds_prepare + clock() - started,
    )


def rule_timing(trained: Any) -> Timing:
    """Rough costs from rules of thumb (the model's size, measured constants), when no rows can be timed."""
    from core.explain.methods import tree_seconds_per_row

    kind = explainer_kind(trained)
    if kind == "tree":
        exact_row, approx_row = tree_seconds_per_row(trained)
        available = not hasattr(_final(trained), "booster_")  # LightGBM has no approximate mode (and needs none)
        approximate = Cost("TreeSHAP (approximate)", 0.2, 0.0, approx_row) if available else None
        return Timing(Cost("TreeSHAP (exact)", 0.2, 0.0, exact_row), approximate)
    if kind == "linear":
        return Timing(Cost("LinearSHAP", 0.05, 0.0, 2e-5))
    m = len(used_columns(trained))
    per_row = max(0, 2 * m - 2) * SUMMARY_ROWS * KERNEL_SECONDS_PER_EVALUATION
    return Timing(Cost("Permutation SHAP", 0.5, 0.0, per_row))


def _auto_approximate(timing: Timing, rows: int, budget: float) -> bool:
    """The approximate tree mode is chosen when exact TreeSHAP would not fit the planned share of the budget."""
    return timing.approximate is not None and timing.main.seconds(rows) > budget * PLANNED_SHARE


def _estimate(timing: Timing, n_rows: int, approximate: bool | None, budget: float) -> Estimate:
    available = timing.approximate is not None
    if approximate is None:
        approximate = _auto_approximate(timing, n_rows, budget)
    approximate = bool(approximate and available)
    cost = timing.cost(approximate)
    total = timing.start + cost.seconds(n_rows)
    if cost.method.startswith("TreeSHAP"):
        exact_total = timing.main.seconds(n_rows)
        if approximate:
            note = (
                f"Exact TreeSHAP would take about {format_duration(exact_total)} for {n_rows:,} rows; "
                "the approximate mode (Saabas) is used instead."
            )
        else:
            note = "Exact TreeSHAP." + (
                f" The approximate mode would take about {format_duration(timing.approximate.seconds(n_rows))}."
                if timing.approximate is not None and exact_total > 2
                else ""
            )
    elif cost.method == "LinearSHAP":
        note = "Exact and fast: coefficients × centred values."
    else:
        note = ""
    if cost.timed:
        note += f" Timed on {cost.timed_on} of this model just now."
    else:
        note += " Rough guess (not timed on this model)."
    fits = max(1, cost.rows_within(budget * PLANNED_SHARE - timing.start, n_rows))
    if total > budget:
        note += f" About {fits:,} rows fit in {budget:g} s."
    return Estimate(
        cost.method,
        n_rows,
        total,
        note.strip(),
        approximate=approximate,
        approximate_available=available,
        seconds_per_row=cost.per_row,
        rows_in_budget=fits,
        setup_seconds=timing.start + cost.setup,
        timing=timing,
    )


def _final(trained: Any) -> Any:
    model = trained.pipeline.steps[-1][1]
    return getattr(model, "regressor_", model)


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
    estimate: Estimate | None = None,
    clock: Clock = time.perf_counter,
) -> Explanation:
    """Explain up to ``max_rows`` rows of ``rows_frame`` in the person's columns.

    Args:
        trained: A :class:`core.training.TrainedModel` (classification or regression).
        rows_frame: Rows to explain (e.g. the validation split), person's columns; a seeded
            sample of ``max_rows`` is taken when larger (original index kept).
        background_frame: Training rows the contributions are measured against.
        approximate: Tree models only: True/False forces the mode; None (default) takes the
            ``estimate``'s choice, else times both modes on a few rows and uses exact TreeSHAP
            unless it would not fit ``budget`` seconds.
        max_rows: At most this many rows are explained.
        seed: Random seed (row sample, background, column orders).
        listener: Receives :class:`core.events.RowsExplained` (rows done, rows in all, seconds
            left) once the method is set up and after each chunk of about a second.
        should_stop: Checked between chunks; when true the rows done so far are returned (``partial``).
        budget: Seconds, for the automatic choice of the approximate tree mode.
        permutations: Passes per row for Permutation SHAP.
        target: The target column's name, to name the output in sentences.
        background_y: The target of each background row, so the background keeps each class's share.
        positive: Binary models: the class explained; None applies :func:`core.target.positive_class`.
        estimate: The :func:`estimate` shown before the run: its mode, and its timing to size
            the chunks and give the time left before the first chunk ends.
        clock: Seconds now (tests pass a fake clock).
    """
    _check(trained, rows_frame)
    started = clock()
    rows = sample_rows(rows_frame, max_rows, seed)
    timing = estimate.timing if estimate is not None else None
    if approximate is None and estimate is not None:
        approximate = estimate.approximate
    explainer = prepare_explainer(
        trained,
        background_frame,
        approximate=bool(approximate),
        seed=seed,
        permutations=permutations,
        target=target,
        background_y=background_y,
        positive=positive,
        clock=clock,
    )
    if approximate is None and getattr(explainer.method, "approximate_available", False):
        timing = measure(explainer, rows, clock=clock)
        explainer = explainer.with_mode(_auto_approximate(timing, len(rows), budget))
        explainer = dataclasses.replace(explainer, seconds_prepare=clock() - started)  # the timing too
    cost = timing.cost(explainer.method.label == "TreeSHAP (approximate)") if timing is not None else None
    if cost is not None and cost.method != explainer.method.label:
        cost = None  # the estimate was for another method (e.g. shap could not read the model)
    return explainer.explain(rows, listener=listener, should_stop=should_stop, cost=cost, clock=clock)


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
        approximate = explainer_kind(trained) == "tree" and _auto_approximate(rule_timing(trained), 1, budget=1.5)
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
    """:func:`explain` as one task on the cluster; the :class:`Explanation` is the job's result.

    Its events are :class:`core.events.RowsExplained` (rows done, time left). Stopping it ends
    the run after the chunk in progress (about a second); the rows finished are kept as a
    ``partial`` explanation that says how many of how many rows it covers.

    ``on_cluster``: the same model still on a worker
    (:meth:`core.training.TrainingJob.on_cluster`); the task then runs with it there instead
    of sending ``trained`` up from this process.
    """

    name = "explain-job"

    def __init__(
        self,
        trained: Any,
        rows_frame: pd.DataFrame,
        background_frame: pd.DataFrame,
        on_cluster: Any = None,
        **options: Any,
    ) -> None:
        self.trained = trained
        model = on_cluster if on_cluster is not None else trained
        super().__init__(_explain_task, model, rows_frame, background_frame, options)

    def _execute(self) -> Explanation:
        result = super()._execute()  # the task's value, straight from its worker (not via the scheduler's queue)
        self._keep(result)
        return result


def _explain_task(listen, should_stop, keep, trained, rows_frame, background_frame, options) -> Explanation:
    """On a worker: :func:`explain` (partial when stopped), the job's result."""
    return explain(trained, rows_frame, background_frame, listener=listen, should_stop=should_stop, **options)


def warm_workers(trained: Any) -> int:
    """Import what explaining ``trained`` needs on the cluster's workers now, not when the person clicks.

    shap, and TensorFlow for a Keras network (several seconds on a worker that never trained
    one): the estimate, timed in this process, does not count those imports. Returns the
    number of workers asked (0 when no cluster is running yet).
    """
    from core.engine import warm
    from core.registry import get_spec

    modules = ["shap", "core.explain.methods", "core.explain.permutation"]
    try:
        if get_spec(trained.key).needs_tensorflow:
            modules.append("keras")
    except DashboardError:  # a model from an older catalogue: shap is what every explanation needs
        pass
    return warm(modules)
