"""Explanations of trained models in the person's own columns.

The method follows the model's spec: TreeSHAP for tree models (exact, or the
approximate Saabas mode when exact would not fit the time budget), LinearSHAP
for linear models, and Permutation SHAP over the whole pipeline for everything
else (Keras networks, SVMs, k-NN, naive Bayes). Contributions of one-hot,
TF-IDF and date-part features are summed back to their source column;
interaction terms and ratios, built from two columns, are split equally
between them.

Typical use::

    est = estimate(trained, 1000, background_frame=X_train, rows_frame=X_valid)  # timed on a few rows
    est.rows_in_budget                                                          # rows that fit 10 s
    expl = explain(trained, X_valid, X_train, target="failure", estimate=est)   # or ExplainJob(...).start()
    summarize_importance(expl); charts.importance_bar(expl)

Modules: :mod:`~core.explain.result` (the :class:`Explanation`, grouping, formatting),
:mod:`~core.explain.explainer` (the method and its set-up), :mod:`~core.explain.budget`
(the estimate before a run), :mod:`~core.explain.run` (chunks, Stop, what-if, the cluster job),
:mod:`~core.explain.timing` (the timed probe, chunk sizes, time left),
:mod:`~core.explain.methods` (TreeSHAP, LinearSHAP), :mod:`~core.explain.permutation`
(Permutation SHAP), :mod:`~core.explain.background`, :mod:`~core.explain.importance`
(permutation importance, top tokens), :mod:`~core.explain.summaries`.

Importing this package loads neither shap nor TensorFlow (shap is imported
when a method is set up), nor, until a run function is used, scikit-learn's
training stack — so ``core.charts`` can draw explanations without it.
"""

import importlib
from typing import TYPE_CHECKING, Any

from core.explain.importance import permutation_importance_frame, strongest_interaction, top_tokens
from core.explain.result import (
    BUDGET_SECONDS,
    DEFAULT_ROWS,
    PLANNED_SHARE,
    Estimate,
    Explanation,
    cancelled_note,
    format_duration,
    format_time_left,
    format_value,
    group_values,
    grouping_matrix,
    importance_frame,
    is_missing,
)
from core.explain.summaries import describe_method, summarize_dependence, summarize_importance, summarize_row
from core.explain.timing import Cost, Timing

if TYPE_CHECKING:
    from core.explain.budget import estimate, measure, rule_timing
    from core.explain.explainer import Explainer, explainer_kind, prepare_explainer
    from core.explain.run import ExplainJob, WhatIf, edit_row, explain, explain_row, warm_workers, what_if_explainer

#: Loaded on first use, from the module that defines each: they need core.training (scikit-learn),
#: which charts of explanations do not.
_LAZY = {
    **dict.fromkeys(("estimate", "measure", "rule_timing"), "budget"),
    **dict.fromkeys(("Explainer", "explainer_kind", "prepare_explainer"), "explainer"),
    **dict.fromkeys(
        ("ExplainJob", "WhatIf", "edit_row", "explain", "explain_row", "warm_workers", "what_if_explainer"), "run"
    ),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"core.explain.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'core.explain' has no attribute {name!r}")


__all__ = [
    "BUDGET_SECONDS",
    "DEFAULT_ROWS",
    "PLANNED_SHARE",
    "Cost",
    "Estimate",
    "ExplainJob",
    "Explainer",
    "Explanation",
    "Timing",
    "WhatIf",
    "cancelled_note",
    "describe_method",
    "edit_row",
    "estimate",
    "explain",
    "explain_row",
    "explainer_kind",
    "format_duration",
    "format_time_left",
    "format_value",
    "group_values",
    "grouping_matrix",
    "importance_frame",
    "is_missing",
    "measure",
    "permutation_importance_frame",
    "prepare_explainer",
    "rule_timing",
    "strongest_interaction",
    "summarize_dependence",
    "summarize_importance",
    "summarize_row",
    "top_tokens",
    "warm_workers",
    "what_if_explainer",
]
