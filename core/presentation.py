"""A finished run as slides for a projector, and as one self-contained HTML deck.

:func:`build_slides` turns a run into plain :class:`Slide` objects (a title, big
numbers, one figure, a few sentences): the headline numbers, the leaderboard, the
task's main diagnostic chart, what drives the predictions, the summary in words
and the caveats. Figures come from :mod:`core.charts`, the summary from
:func:`core.training.summary` and the caveats from :func:`core.report.caveats`, so
the slides say what the Results page and the report say.

:func:`deck_html` writes them as one HTML file: plotly.js inlined once, no network
(no CDN, no web fonts), one slide per screen, keyboard navigation. Slide text is
plain text and is escaped with :func:`html.escape` there; figure labels pass the
chart builders' :func:`~core.charts.style.safe_text`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from core import anomaly_results, charts
from core import results as res
from core.evaluation import cluster_sizes, confusion_frame
from core.explain.result import importance_frame
from core.guards.model_checks import model_findings, validation_importance
from core.metrics import METRICS, format_score, metric_label
from core.registry import get_spec
from core.report import caveats
from core.target import NO_TARGET_TITLES, Task
from core.training import TrainedModel, TrainingRequest, best_model, cv_columns, leaderboard, summary
from core.training.choose import ranking_words
from core.training.request import BASELINE

#: The caveats slide's one line when the guards found nothing.
NO_WARNINGS = "No warnings."
#: Columns named on the importance chart of a slide (more would be unreadable from the back of a room).
TOP_COLUMNS = 10


@dataclass(frozen=True)
class BigNumber:
    """One number shown large: ``value`` (already formatted) of ``metric`` for ``model``, on ``split``."""

    value: str
    metric: str
    model: str
    split: str


@dataclass
class Slide:
    """One screen of the deck. Every string is plain text (escaped when the deck is written)."""

    title: str
    numbers: list[BigNumber] = field(default_factory=list)
    figure: go.Figure | None = None
    bullets: list[str] = field(default_factory=list)
    #: What the slide shows: "headline", "leaderboard", "diagnostic", "drivers", "summary" or "caveats".
    kind: str = ""


def build_slides(
    request: TrainingRequest,
    trained: list,
    chosen: TrainedModel,
    *,
    explanation: Any = None,
    importance: Any = None,
    test_scores: dict[str, float] | None = None,
    test_looks: int = 0,
    source_name: str = "",
) -> list[Slide]:
    """The slides presenting ``chosen``, one model of the run ``request`` whose results are ``trained``.

    Args:
        request: The run's request.
        trained: The run's results (:class:`TrainedModel` and :class:`~core.training.ModelFailure`).
        chosen: The model presented (usually :func:`core.training.best_model`).
        explanation: A finished :class:`core.explain.Explanation` of ``chosen``: its mean |SHAP| is the
            importance shown; without it, ``importance`` (a permutation importance frame on validation
            rows, :func:`core.guards.model_checks.validation_importance`) is, computed when not given.
        test_scores: ``chosen``'s scores on the test split, if the person has asked for them.
        test_looks: How many times the test split was scored in the session (a caveat from the second).
        source_name: The dataset's name, for the first slide.

    The after-training checks of ``chosen`` are run when they have not been (``chosen.checks``, as the
    report does), so the caveats include them.
    """
    clustering = not request.task.has_target  # no target: no permutation importance, no after-training checks
    if explanation is None and importance is None and not clustering:
        importance = validation_importance(chosen, request)
    if chosen.checks is None and not clustering:  # the caveats include the after-training checks
        chosen.checks = model_findings(chosen, request, importance)
    slides = [
        _headline(request, trained, chosen, test_scores, source_name),
        _leaderboard(request, trained),
        _diagnostic(request, chosen),
        _drivers(request, explanation, importance),
        _summary(request, trained, chosen, test_scores),
    ]
    notes = caveats(request, chosen, trained, test_scores=test_scores, test_looks=test_looks)
    slides.append(Slide("Caveats", bullets=notes or [NO_WARNINGS], kind="caveats"))
    return [s for s in slides if s is not None]


def presented_title(request: TrainingRequest, chosen: TrainedModel) -> str:
    """What the deck is about, e.g. "Random forest predicting price" (the report's title too)."""
    return f"{chosen.name} " + (f"predicting {request.target}" if request.target else NO_TARGET_TITLES[request.task])


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def validation_split(request: TrainingRequest, model: TrainedModel) -> str:
    """Which rows ``model``'s ``scores`` are from, in a few words."""
    if request.task == Task.CLUSTERING:
        return f"training split · the {_rows(len(request.split.train))} clustered"
    scored = ", scored before the refit" if model.refitted else ""
    return f"validation split · {_rows(len(request.split.valid))}{scored}"


def big_numbers(
    request: TrainingRequest, trained: list, chosen: TrainedModel, test_scores: dict[str, float] | None
) -> list[BigNumber]:
    """The chosen model's main score (on test when it was scored there, and on validation) and the baseline's."""
    metric = request.ranking
    own = validation_split(request, chosen)
    numbers = []
    if test_scores and metric.key in test_scores:
        where = f"test split · {_rows(len(request.split.test))} set aside, scored once"
        numbers.append(BigNumber(format_score(metric.key, test_scores[metric.key]), metric.label, chosen.name, where))
    numbers.append(BigNumber(format_score(metric.key, chosen.scores.get(metric.key)), metric.label, chosen.name, own))
    if request.task == Task.ANOMALY:  # no baseline; the share flagged on the training rows is the expected share
        share = chosen.train_scores.get(metric.key)
        training = f"training split · {_rows(len(request.split.train))}, the threshold set on them"
        numbers.append(BigNumber(format_score(metric.key, share), metric.label, chosen.name, training))
        return numbers
    if request.task == Task.CLUSTERING:
        if "clusters" in chosen.scores:
            clusters = format_score("clusters", chosen.scores["clusters"])
            numbers.append(BigNumber(clusters, metric_label("clusters"), chosen.name, own))
        return numbers
    baseline = next((r for r in trained if isinstance(r, TrainedModel) and r.key == BASELINE), None)
    if baseline is not None and baseline is not chosen and baseline.name != chosen.name:
        value = format_score(metric.key, baseline.scores.get(metric.key))
        numbers.append(BigNumber(value, metric.label, baseline.name, validation_split(request, baseline)))
    return numbers


def _headline(
    request: TrainingRequest,
    trained: list,
    chosen: TrainedModel,
    test_scores: dict[str, float] | None,
    source_name: str,
) -> Slide:
    sizes = request.split.sizes()
    data = f"{len(request.frame):,} rows after cleaning, {len(request.features)} input columns"
    lines = [
        f"Dataset {source_name} · {request.task.value}" if source_name else request.task.value.capitalize(),
        data + (f", predicting {request.target}." if request.target else "."),
    ]
    if request.task.has_target:
        lines.append(
            f"Split: {sizes['train']:,} training, {sizes['validation']:,} validation and {sizes['test']:,} test rows."
        )
        baseline = get_spec(BASELINE).help
        if any(isinstance(r, TrainedModel) and r.key == BASELINE for r in trained):
            lines.append(f"Baseline: {baseline[0].lower()}{baseline[1:]}")
    numbers = big_numbers(request, trained, chosen, test_scores)
    return Slide(presented_title(request, chosen), numbers, None, lines, "headline")


def _leaderboard(request: TrainingRequest, trained: list) -> Slide | None:
    board = leaderboard(trained, request.task, request.metric or None)
    metric = request.ranking
    ranked_by = board.attrs.get("ranked_by", metric.label)
    if ranked_by not in board.columns:
        return None
    cross_validated = request.task.has_target and ranked_by != metric.label
    figure = charts.leaderboard_chart(
        board, ranked_by, cv_columns(metric)[1] if cross_validated else None, charts.run_colors(request)
    )
    if request.task == Task.CLUSTERING:
        words = f"{metric.label} on the {_rows(len(request.split.train))} clustered: {metric.meaning}"
        figure.update_layout(title=f"{metric.label} by model (on the rows clustered)")
        figure.update_xaxes(title=metric.label)
    else:
        words = ranking_words(request, cross_validated)
    lines = [words, *res.leaderboard_reasons(trained, request)]
    return Slide("Models compared", figure=figure, bullets=lines, kind="leaderboard")


def _diagnostic(request: TrainingRequest, chosen: TrainedModel) -> Slide:
    if request.task == Task.ANOMALY:
        rows = anomaly_results.scored_rows(chosen, request)
        top = rows.top(limit=3)
        lines = [
            f"On the {_rows(len(rows.scores))} of the validation split, which the detector never learned from: "
            f"{rows.count_words()}.",
            "Most unusual: rows " + ", ".join(str(r) for r in top["row"]) + "." if len(top) else "No row is flagged.",
        ]
        figure = charts.anomaly_score_figure(rows.scores, rows.threshold, title="Anomaly scores of the validation rows")
        return Slide("The unusual rows", figure=figure, bullets=lines, kind="diagnostic")
    if request.task == Task.CLUSTERING:
        Xt, labels, _ = res.cluster_assignments(chosen, request)
        sizes = cluster_sizes(labels)
        counted = ", ".join(f"{c}: {r:,}" for c, r in zip(sizes["cluster"], sizes["rows"], strict=True))
        lines = [
            "Each point is a row, placed on the two main directions of the data; each colour is a cluster.",
            f"Rows per cluster: {counted}.",
        ]
        figure = charts.clusters_figure(res.pca_projection(Xt, labels, seed=request.seed))
        return Slide("The clusters found", figure=figure, bullets=lines, kind="diagnostic")
    pred = res.predictions(chosen, request)
    where = f"On the {_rows(len(request.split.valid))} of the validation split" + (
        ", predicted by the model as fitted on the training rows (before the refit)." if chosen.refitted else "."
    )
    if request.task == Task.REGRESSION:
        figure = charts.predicted_vs_actual_figure(res.residuals_frame(pred.y, pred.y_pred, seed=request.seed))
        how = "Each point is a row: the closer the points lie to the diagonal, the better the predictions."
        return Slide("Predicted vs actual", figure=figure, bullets=[where, how], kind="diagnostic")
    if request.task == Task.BINARY and pred.proba is not None:
        title = f"ROC curve: '{pred.positive}' as the positive class" if pred.positive is not None else "ROC curve"
        figure = charts.roc_figure(res.roc_curves(pred.y, pred.proba, pred.classes, pred.positive), title=title)
        how = "The closer the curve runs to the top-left corner, the better; the diagonal is guessing."
        return Slide("ROC curve", figure=figure, bullets=[where, how], kind="diagnostic")
    figure = charts.confusion_matrix_figure(confusion_frame(pred.y, pred.y_pred, pred.classes))
    how = "Rows are the actual classes, columns the predicted ones: the diagonal holds the right answers."
    return Slide("Confusion matrix", figure=figure, bullets=[where, how], kind="diagnostic")


def _shares(columns: list, shares: list[float]) -> str:
    return ", ".join(f"{c} ({s:.0%})" for c, s in zip(columns, shares, strict=True))


def _drivers(request: TrainingRequest, explanation: Any, importance: Any) -> Slide | None:
    """SHAP importance when an explanation has finished, else permutation importance on validation rows."""
    if request.task == Task.CLUSTERING:
        return None
    title = "What drives the anomaly score" if request.task == Task.ANOMALY else "What drives the predictions"
    if explanation is not None:
        table = importance_frame(explanation).head(3)
        lines = [
            f"From SHAP values on {_rows(explanation.rows)} of the validation split: how much each column moves "
            f"the {explanation.output_name} on average.",
            "Most of it: " + _shares(list(table["column"]), list(table["share"])) + ".",
        ]
        return Slide(title, figure=charts.importance_bar(explanation, top=TOP_COLUMNS), bullets=lines, kind="drivers")
    if importance is None or importance.empty:
        return None
    metric = importance.attrs.get("metric", "score")
    lines = [
        f"How much the {metric} drops when one column's values are shuffled (on rows of the validation split; "
        "bigger means the model relies on it more).",
        "Most of all: " + ", ".join(str(c) for c in importance["column"].head(3)) + ".",
    ]
    return Slide(title, figure=charts.permutation_bar(importance, top=TOP_COLUMNS), bullets=lines, kind="drivers")


def _summary(
    request: TrainingRequest, trained: list, chosen: TrainedModel, test_scores: dict[str, float] | None
) -> Slide:
    best = best_model(trained, request.task, request.metric or None)
    if chosen.refit is not None or (not request.task.has_target and best is chosen):
        story = summary(chosen, request, trained)
    else:
        story = f"{chosen.name} is not the model this run chose" + (f" ({best.name} is)." if best else ".")
    metric = request.ranking
    lines = [story, f"{metric.label}: {metric.meaning}"]
    if test_scores:
        shown = [k for k in test_scores if k in METRICS and k != metric.key][:3]
        if shown:
            others = ", ".join(f"{metric_label(k)} {format_score(k, test_scores[k])}" for k in shown)
            lines.append(f"Also on the test split: {others}.")
    return Slide("In plain words", bullets=lines, kind="summary")


# --------------------------------------------------------------------------- the HTML deck

_STYLE = """
*{box-sizing:border-box}html,body{margin:0;height:100%;background:#fff;color:#1f2933;overflow:hidden;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
#deck{position:relative;width:100vw;height:100vh;outline:none}
.slide{display:none;position:absolute;inset:0;padding:3.5vh 4vw 9vh;flex-direction:column;gap:2vh}
.slide.active{display:flex}
.slide h1{font-size:clamp(24px,4.4vw,66px);line-height:1.15;margin:0;color:#102a43}
.slide h2{font-size:clamp(22px,3.6vw,54px);line-height:1.15;margin:0;color:#102a43}
.numbers{display:flex;flex-wrap:wrap;gap:2vw;margin:1vh 0}
.number{flex:1 1 0;min-width:180px;background:#f0f4ff;border-left:.6vw solid #4c6ef5;border-radius:6px;padding:1.5vh 1.5vw}
.number.other{background:#f5f7fa;border-left-color:#adb5bd}
.value{font-size:clamp(32px,5.2vw,112px);font-weight:700;line-height:1.05;font-variant-numeric:tabular-nums}
.what{font-size:clamp(16px,1.9vw,30px);font-weight:600}.where{font-size:clamp(13px,1.4vw,22px);color:#52606d}
ul{margin:0;padding-left:1.2em}li{font-size:clamp(16px,2.1vw,34px);line-height:1.35;margin:.5vh 0}
.slide.dense li{font-size:clamp(14px,1.6vw,26px)}.figure+ul li{font-size:clamp(14px,1.6vw,26px)}
.caveats li{border-left:.4vw solid #e12d39;background:#fdecea;list-style:none;padding:.6vh 1vw;margin:1vh 0}
.caveats ul{padding-left:0}.caveats li.ok{border-left-color:#27ab83;background:#e3f9e5}
.slide ul{min-height:0;overflow:auto}
.figure{flex:1 1 auto;min-height:0;width:100%}
.nav{position:absolute;left:0;right:0;bottom:0;height:7vh;min-height:44px;display:flex;align-items:center;
justify-content:center;gap:2vw;background:#f5f7fa;border-top:1px solid #e4e7eb}
.nav button{font:inherit;font-size:clamp(15px,1.8vw,26px);padding:.4em 1.2em;border:1px solid #9aa5b1;border-radius:6px;
background:#fff;color:#1f2933;cursor:pointer}.nav button:disabled{opacity:.4;cursor:default}
#counter{font-size:clamp(15px,1.8vw,26px);font-variant-numeric:tabular-nums;min-width:5em;text-align:center}
.hint{position:absolute;right:1.5vw;font-size:clamp(11px,1vw,15px);color:#7b8794}
@media print{html,body{overflow:visible;height:auto}#deck{height:auto}.nav{display:none}
.slide{display:flex!important;position:relative;height:100vh;page-break-after:always}}
"""

_SCRIPT = """
(function(){
var slides=[].slice.call(document.querySelectorAll('.slide')),n=slides.length,at=0,drawn={};
var counter=document.getElementById('counter'),prev=document.getElementById('prev'),next=document.getElementById('next');
function draw(i){var box=slides[i].querySelector('.figure');if(!box||drawn[i]||typeof Plotly==='undefined')return;
drawn[i]=true;var f=JSON.parse(document.getElementById(box.getAttribute('data-figure')).textContent);
Plotly.newPlot(box,f.data,f.layout,{responsive:true,displaylogo:false,displayModeBar:false});}
function go(i){at=Math.max(0,Math.min(n-1,i));slides.forEach(function(s,k){s.classList.toggle('active',k===at);
s.setAttribute('aria-hidden',k===at?'false':'true');});counter.textContent=(at+1)+' / '+n;
prev.disabled=at===0;next.disabled=at===n-1;draw(at);}
prev.addEventListener('click',function(){go(at-1);this.blur();});
next.addEventListener('click',function(){go(at+1);this.blur();});
document.addEventListener('keydown',function(e){if(e.altKey||e.ctrlKey||e.metaKey)return;var k=e.key;
if(k==='ArrowRight'||k==='PageDown'||(k===' '&&!e.shiftKey)||k==='Spacebar')go(at+1);
else if(k==='ArrowLeft'||k==='PageUp'||(k===' '&&e.shiftKey))go(at-1);
else if(k==='Home')go(0);else if(k==='End')go(n-1);else return;e.preventDefault();});
window.addEventListener('beforeprint',function(){slides.forEach(function(s,k){draw(k);});});
var start=parseInt((location.hash||'').slice(1),10);go(isNaN(start)?0:start-1);
document.getElementById('deck').focus({preventScroll:true});
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _projector(figure: go.Figure) -> str:
    """A figure's JSON sized by its slide (not a fixed height) with fonts that read from afar; safe inside <script>."""
    fig = go.Figure(figure)
    fig.layout.height = None
    fig.layout.width = None
    fig.update_layout(autosize=True, font=dict(size=18), title_font=dict(size=22))
    # "<" occurs only in JSON strings, where \\u003c means the same: no text can end the script or open a tag.
    return fig.to_json().replace("<", "\\u003c")


def _slide_html(slide: Slide, index: int, total: int) -> tuple[str, str]:
    """One slide's <section>, and the <script> holding its figure's data ("" without a figure)."""
    heading = "h1" if index == 0 else "h2"
    parts = [f"<{heading}>{_e(slide.title)}</{heading}>"]
    if slide.numbers:
        cards = []
        for number in slide.numbers:
            other = " other" if number.model != slide.numbers[0].model else ""
            cards.append(
                f'<div class="number{other}"><div class="value">{_e(number.value)}</div>'
                f'<div class="what">{_e(number.metric)} · {_e(number.model)}</div>'
                f'<div class="where">{_e(number.split)}</div></div>'
            )
        parts.append('<div class="numbers">' + "".join(cards) + "</div>")
    data = ""
    if slide.figure is not None:
        figure_id = f"figure-{index + 1}"
        parts.append(f'<div class="figure" data-figure="{figure_id}" role="img" aria-label="{_e(slide.title)}"></div>')
        data = f'<script type="application/json" id="{figure_id}">{_projector(slide.figure)}</script>'
    if slide.bullets:
        fine = slide.kind == "caveats" and slide.bullets == [NO_WARNINGS]
        opening = '<li class="ok">' if fine else "<li>"
        items = "".join(f"{opening}{_e(line)}</li>" for line in slide.bullets)
        parts.append(f"<ul>{items}</ul>")
    dense = sum(len(line) for line in slide.bullets) > 500
    classes = " ".join(c for c in ("slide", slide.kind, "dense" if dense else "") if c)
    section = (
        f'<section class="{_e(classes)}" data-index="{index + 1}" aria-roledescription="slide" '
        f'aria-label="{index + 1} of {total}: {_e(slide.title)}">' + "".join(parts) + "</section>"
    )
    return section, data


def deck_html(slides: list[Slide], title: str) -> str:
    """The slides as ONE self-contained HTML file: plotly.js inlined once, no network, keyboard navigation.

    ←/→, PageUp/PageDown, Space (Shift+Space back), Home and End move between slides; the buttons
    below do too, and a counter says where you are. Print gives one slide per page.
    """
    from plotly.offline import get_plotlyjs

    sections, data = [], []
    for index, slide in enumerate(slides):
        section, figure = _slide_html(slide, index, len(slides))
        sections.append(section)
        data.append(figure)
    nav = (
        '<nav class="nav" aria-label="Slides">'
        '<button id="prev" type="button" tabindex="-1" aria-label="Previous slide">← Previous</button>'
        f'<span id="counter" aria-live="polite">1 / {len(slides)}</span>'
        '<button id="next" type="button" tabindex="-1" aria-label="Next slide">Next →</button>'
        '<span class="hint">← → keys, Space, Home, End</span></nav>'
    )
    plotly_js = f"<script>{get_plotlyjs()}</script>" if any(s.figure is not None for s in slides) else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style>{plotly_js}</head><body>"
        f'<main id="deck" tabindex="0" aria-label="{_e(title)}">'
        + "\n".join(sections)
        + nav
        + "</main>"
        + "".join(data)
        + f"<script>{_SCRIPT}</script></body></html>"
    )
