"""What an explanation will cost before it runs: :func:`estimate`.

:func:`estimate` sets the method up as :func:`core.explain.run.explain` will and times it on a
few of the rows (:mod:`core.explain.timing`); the automatic tree mode and the rows offered by
default follow from that timing. Without rows to time, :func:`rule_timing` gives rule-of-thumb figures.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pandas as pd

from core.explain.background import SUMMARY_ROWS, sample_rows
from core.explain.explainer import Explainer, explainer_kind, final_estimator, prepare_explainer
from core.explain.methods import tree_seconds_per_row
from core.explain.result import (
    BUDGET_SECONDS,
    PLANNED_SHARE,
    Estimate,
    format_duration,
    used_columns,
)
from core.explain.timing import PROBE_CALL_SECONDS, PROBE_MAX_ROWS, Clock, Cost, Timing, probe

#: Rough cost of one model evaluation inside Permutation SHAP when it cannot be timed (seconds).
KERNEL_SECONDS_PER_EVALUATION = 5e-6


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

    kind = explainer_kind(trained)
    if kind == "tree":
        exact_row, approx_row = tree_seconds_per_row(trained)
        available = not hasattr(
            final_estimator(trained), "booster_"
        )  # LightGBM has no approximate mode (and needs none)
        approximate = Cost("TreeSHAP (approximate)", 0.2, 0.0, approx_row) if available else None
        return Timing(Cost("TreeSHAP (exact)", 0.2, 0.0, exact_row), approximate)
    if kind == "linear":
        return Timing(Cost("LinearSHAP", 0.05, 0.0, 2e-5))
    m = len(used_columns(trained))
    per_row = max(0, 2 * m - 2) * SUMMARY_ROWS * KERNEL_SECONDS_PER_EVALUATION
    return Timing(Cost("Permutation SHAP", 0.5, 0.0, per_row))


def auto_approximate(timing: Timing, rows: int, budget: float) -> bool:
    """The approximate tree mode is chosen when exact TreeSHAP would not fit the planned share of the budget."""
    return timing.approximate is not None and timing.main.seconds(rows) > budget * PLANNED_SHARE


def _estimate(timing: Timing, n_rows: int, approximate: bool | None, budget: float) -> Estimate:
    available = timing.approximate is not None
    if approximate is None:
        approximate = auto_approximate(timing, n_rows, budget)
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
