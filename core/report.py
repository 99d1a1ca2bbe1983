"""A one-page HTML report of a training run, for stakeholders, readable offline.

Everything from the person's file (column names, values, class labels, the
file's name) is escaped with :func:`html.escape` or passes through the chart
builders' :func:`~core.charts.style.safe_text`; plotly.js is embedded once, so
the page needs no network.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core import anomaly, anomaly_results, charts
from core import results as res
from core.charts.fairness import fairness_figure
from core.evaluation import confusion_frame, overfitting_check
from core.features import IMBALANCE_METHODS
from core.guards.caveats import run_warnings
from core.guards.model_checks import model_findings, validation_importance
from core.metrics import METRICS, format_score, metric_label
from core.model_card import library_versions
from core.results import leaderboard_reasons, metric_reasons
from core.split import size_warning
from core.target import NO_TARGET_TITLES, Task, target_warnings
from core.training import ModelFailure, TrainedModel, TrainingRequest, cv_columns, leaderboard, summary
from core.training.choose import ranking_words

if TYPE_CHECKING:
    from core.fairness import FairnessReport

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.8rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #e4e7eb;padding-bottom:.3rem}
.meta{color:#616e7c}table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
th,td{border:1px solid #e4e7eb;padding:.3rem .6rem;text-align:left}th{background:#f5f7fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}.test{background:#fff8e1;border-left:4px solid #f0b429;padding:.5rem 1rem}
.caveat{background:#fdecea;border-left:4px solid #e12d39;padding:.5rem 1rem;margin:.5rem 0}
.ok{background:#e3f9e5;border-left:4px solid #27ab83;padding:.5rem 1rem;margin:.5rem 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}@media(max-width:800px){.grid{grid-template-columns:1fr}}
footer{margin-top:3rem;color:#9aa5b1;font-size:.85rem}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return format_score("", float(value))  # a table's number, read as every page reads a score
    return _e(value)


def _table(frame: pd.DataFrame, *, index: bool = False) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in ([frame.index.name or ""] if index else []) + list(frame.columns))
    rows = []
    for label, row in frame.iterrows():
        cells = [f"<th>{_e(label)}</th>"] if index else []
        for value in row:
            numeric = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            cells.append(f'<td class="num">{_fmt(value)}</td>' if numeric else f"<td>{_fmt(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(fig) -> str:
    # The figure's JSON goes inside a <script>: "<" only occurs in JSON strings, where \u003c means the
    # same, so no text from the file can end the script or open a tag.
    fig_json = fig.to_json().replace("<", "\\u003c")
    div = f"fig-{abs(hash(fig_json)) % 10**12}"
    return (
        f'<div id="{div}" style="width:100%;height:{int(fig.layout.height or 420)}px"></div>'
        f"<script>(function(){{var f={fig_json};Plotly.newPlot('{div}',f.data,f.layout,"
        "{responsive:true,displaylogo:false});})();</script>"
    )


def _metrics_table(scores: dict[str, float], reasons: dict[str, str]) -> str:
    """Scores with their meaning; a metric without a value (``reasons``: why, see ``metric_reasons``) shows "—"."""
    rows = []
    for key in [*scores, *(k for k in reasons if k not in scores)]:
        metric, value = METRICS.get(key), scores.get(key, float("nan"))
        meaning = metric.meaning if metric else ""
        if key in reasons:
            meaning = f"Undefined: {reasons[key]} {meaning}"
        rows.append({"metric": metric_label(key), "value": value, "meaning": meaning})
    return _table(pd.DataFrame(rows, columns=["metric", "value", "meaning"]))


def caveats(
    request: TrainingRequest, chosen: TrainedModel, results: list, *, test_scores: dict | None, test_looks: int
) -> list[str]:
    """Plain-language warnings a reader of the numbers should know (from the app's guard checks).

    The guards' findings (rows lost, leakage, a column doing all the work) come
    first; the after-training checks are included once they have run for ``chosen``.
    """
    notes: list[str] = run_warnings(request, chosen)
    overfit = overfitting_check(chosen.train_scores, chosen.scores, request.task)
    if overfit:
        notes.append(overfit)
    # The Target page's checks (imbalance, tiny classes, ID-like targets, …) on the rows trained on.
    role = request.roles.get(request.target) if request.target is not None else None
    notes += [w.message for w in target_warnings(request.frame, request.target, request.task, role)]
    small = size_warning(request.split) if request.task.has_target else None
    if small:
        notes.append(small)
    baseline = next((r for r in results if isinstance(r, TrainedModel) and r.key == "baseline"), None)
    if baseline is not None and chosen.key != "baseline" and request.task != Task.CLUSTERING:
        metric = request.ranking
        b, c = baseline.scores.get(metric.key), chosen.scores.get(metric.key)
        if b is not None and c is not None and np.isfinite(b) and np.isfinite(c):
            gain = (c - b) if metric.higher_is_better else (b - c)
            if gain < 0.02 * max(abs(b), 1e-9) + 1e-9:
                notes.append(
                    f"The model barely beats the baseline that always predicts the most common answer "
                    f"({metric.label} {c:.3g} vs {b:.3g}): it has learned little from these columns."
                )
    if request.task == Task.ANOMALY:
        notes.append(
            f"{anomaly.NO_LABELS} So {anomaly.CHOICE_RULE}. Look at the flagged rows yourself, or check the scores "
            "against a column that records a known answer (Results page)."
        )
    if test_scores is None and request.task.has_target:
        notes.append(
            "The model has not been scored on the held-out test split yet: every number here is a validation "
            "number, used to choose the model, and may be slightly optimistic."
        )
    if test_looks > 1:
        notes.append(
            f"The test split was scored {test_looks} times in this session; each look makes it a little less honest."
        )
    failed = [r for r in results if isinstance(r, ModelFailure)]
    if failed:
        notes.append("Models that failed to train: " + ", ".join(r.name for r in failed) + ".")
    return notes


def _charts(request: TrainingRequest, chosen: TrainedModel) -> list:
    if request.task == Task.CLUSTERING:
        Xt, labels, _ = res.cluster_assignments(chosen, request)
        return [charts.clusters_figure(res.pca_projection(Xt, labels, seed=request.seed))]
    if request.task == Task.ANOMALY:
        rows = anomaly_results.scored_rows(chosen, request)
        return [charts.anomaly_score_figure(rows.scores, rows.threshold, title="Anomaly scores of the validation rows")]
    pred = res.predictions(chosen, request)
    if request.task == Task.REGRESSION:
        frame = res.residuals_frame(pred.y, pred.y_pred, seed=request.seed)
        return [charts.predicted_vs_actual_figure(frame), charts.residuals_figure(frame)]
    figs = [charts.confusion_matrix_figure(confusion_frame(pred.y, pred.y_pred, pred.classes))]
    if pred.proba is not None:
        title = f"ROC curve: '{pred.positive}' as the positive class" if pred.positive is not None else "ROC curves"
        figs.append(charts.roc_figure(res.roc_curves(pred.y, pred.proba, pred.classes, pred.positive), title=title))
    return figs


def _unusual_rows(request: TrainingRequest, chosen: TrainedModel, shown: int = 10) -> list[str]:
    """The most unusual validation rows, as the Results page lists them, and how many are above the threshold."""
    rows = anomaly_results.scored_rows(chosen, request)
    return [
        "<h2>The most unusual rows</h2>",
        f"<p>{_e(rows.count_words())} (the model's own threshold); the {shown} most unusual:</p>",
        _table(rows.top(limit=shown)),
    ]


def _drivers(request: TrainingRequest, chosen: TrainedModel, explanation, importance) -> tuple[str, list]:
    """Top drivers: SHAP importance when an explanation exists, else permutation importance (``importance``)."""
    if request.task == Task.CLUSTERING:
        return "", []
    if explanation is not None:
        shares = np.abs(explanation.values).mean(axis=0)
        frame = pd.DataFrame({"column": explanation.columns, "mean |SHAP|": shares})
        frame = frame.sort_values("mean |SHAP|", ascending=False).head(10)
        text = (
            f"From SHAP values on {explanation.rows} validation rows: how much each column moves the "
            f"{_e(explanation.output_name)} on average."
        )
        return text + _table(frame), [charts.importance_bar(explanation, top=10)]
    frame = importance
    if frame is None:
        return "", []
    text = (
        f"How much the {_e(frame.attrs.get('metric', 'score'))} drops when one column's values are shuffled "
        "(on validation rows; bigger means the model relies on it more)."
    )
    shown = frame.head(10).rename(columns={"importance_mean": "drop in score", "importance_std": "± spread"})
    return text + _table(shown), [charts.permutation_bar(frame, top=10)]


def _fairness_section(report: FairnessReport) -> str:
    """One column's groups: what the numbers are, the table, the chart, then each finding with its fix."""
    parts = [f"<h3>By {_e(report.column)} ({_e(report.split)} rows)</h3>"]
    parts += [f'<p class="meta">{_e(note)}</p>' for note in report.notes]
    parts.append(_table(report.formatted()))
    figure = fairness_figure(report.table, report.charted(), report.overall, column=report.column, split=report.split)
    parts.append(_figure(figure))
    parts += [f'<div class="caveat">{_e(f.evidence)} {_e(f.fix)}</div>' for f in report.findings]
    if not report.findings and len(report.gaps):
        parts.append('<div class="ok">No gap between these groups passes the thresholds.</div>')
    return "\n".join(parts)


def run_report(
    request: TrainingRequest,
    results: list[TrainedModel | ModelFailure],
    chosen: TrainedModel,
    source_name: str,
    *,
    test_scores: dict[str, float] | None = None,
    test_looks: int = 0,
    explanation=None,
    fairness: Sequence[FairnessReport] = (),
) -> str:
    """The whole report as one self-contained HTML page.

    ``fairness``: the model's scores across groups of the columns the person compared on the Results page
    (:func:`core.fairness.fairness_report`), each a section with its table, chart and findings.
    """
    from plotly.offline import get_plotlyjs

    task = request.task
    target = request.target
    title = f"{chosen.name} " + (f"predicting {target}" if target else NO_TARGET_TITLES[task])
    sizes = request.split.sizes()
    cfg = request.split.config
    plan_lines = request.plan.describe(request.roles, target)
    parts = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Dataset {_e(source_name)} · {task.value} · report made '
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p>",
        "<h2>Data</h2>",
        f"<p>{len(request.frame):,} rows after cleaning, {len(request.features)} input columns"
        + (f", predicting <b>{_e(target)}</b>" if target else "")
        + ".</p>",
        *(
            [
                f"<p>Positive class: <b>{_e(request.positive)}</b> — the class the probabilities, the ROC curve "
                "and the explanations are about.</p>"
            ]
            if task == Task.BINARY and request.positive is not None
            else []
        ),
        "<p>Split (seed "
        f"{cfg.seed}{', ordered by ' + _e(cfg.time_column) if cfg.time_column else ''}): "
        f"{sizes['train']:,} training rows, {sizes['validation']:,} validation rows, {sizes['test']:,} test rows "
        "kept aside. Everything learned from data (imputation, scaling, encoding, outlier bounds) was fitted on "
        "the training rows only"
        + (
            "; once chosen, the model was refitted on the training + validation rows, never on the test rows.</p>"
            if chosen.refitted
            else ".</p>"
        ),
    ]
    if plan_lines:
        parts.append("<p>Cleaning steps:</p><ul>" + "".join(f"<li>{_e(line)}</li>" for line in plan_lines) + "</ul>")
    if task.is_classification:
        parts.append(f"<p>Imbalanced classes: {_e(IMBALANCE_METHODS.get(request.imbalance, request.imbalance))}.</p>")
    board = leaderboard(results, task, request.metric or None)
    metric = request.ranking if task != Task.CLUSTERING else None
    ranked_by = board.attrs.get("ranked_by", metric.label if metric is not None else "")
    cross_validated = metric is not None and ranked_by != metric.label
    ranked = f"<p>{_e(ranking_words(request, cross_validated))}</p>" if metric is not None else ""
    parts += ["<h2>Models compared</h2>", ranked, _table(board)]
    parts += [f'<p class="meta">— {_e(line)}</p>' for line in leaderboard_reasons(results, request)]
    figures: list = []
    if metric is not None and ranked_by in board.columns:
        spread = cv_columns(metric)[1] if cross_validated else None
        figures.append(charts.leaderboard_chart(board, ranked_by, spread, charts.run_colors(request)))
    parts += [_figure(f) for f in figures]
    parts.append(f"<h2>The chosen model: {_e(chosen.name)}</h2>")
    if chosen.refit is not None:
        parts.append(f"<p>{_e(summary(chosen, request, results))}</p>")
    parts.append(
        "<p>Validation scores (of the fit on the training rows, before the refit: rows it had not learned from):</p>"
        if chosen.refitted
        else "<p>Validation scores (rows not used for training):</p>"
    )
    parts.append(_metrics_table(chosen.scores, metric_reasons(chosen, request, chosen.scores)))
    if test_scores:
        parts.append('<div class="test"><b>Test scores</b> (the held-out split, scored once):')
        parts.append(_metrics_table(test_scores, metric_reasons(chosen, request, test_scores, "test")) + "</div>")
    parts.append(
        "<details><summary>Settings</summary><pre>"
        + _e(json.dumps(chosen.params, indent=2, default=str))
        + "</pre></details>"
    )
    parts.append('<div class="grid">' + "".join(_figure(f) for f in _charts(request, chosen)) + "</div>")
    if task == Task.ANOMALY:
        parts += _unusual_rows(request, chosen)
    importance = validation_importance(chosen, request) if task.has_target else None
    if chosen.checks is None:
        chosen.checks = model_findings(chosen, request, importance)
    drivers_text, driver_figs = _drivers(request, chosen, explanation, importance)
    if drivers_text:
        driven = "the anomaly score" if task == Task.ANOMALY else "the predictions"
        parts += [f"<h2>What drives {driven}</h2>", f"<p>{drivers_text}</p>"]
        parts += [_figure(f) for f in driver_figs]
    if fairness:
        parts.append("<h2>Fairness across groups</h2>")
        parts += [_fairness_section(report) for report in fairness]
    notes = caveats(request, chosen, results, test_scores=test_scores, test_looks=test_looks)
    parts.append("<h2>Caveats</h2>")
    parts += [f'<div class="caveat">{_e(n)}</div>' for n in notes] or ['<div class="ok">No warnings.</div>']
    versions = ", ".join(f"{_e(k)} {_e(v)}" for k, v in library_versions().items())
    parts.append(f"<footer>Made with the no-code ML dashboard. {versions}.</footer>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>" + "\n".join(parts) + "</body></html>"
    )
