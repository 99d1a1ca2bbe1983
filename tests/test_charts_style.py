"""core.charts.style: one colour per model on every chart of a run, the chosen model always overlaid, a
constant baseline's honest curves, titles clear of legends, and the themes' palettes (figures as objects)."""

from __future__ import annotations

import colorsys
import inspect
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from core import charts, results
from core.charts import anomaly as anomaly_charts
from core.charts import data as data_charts
from core.charts import experiments as experiment_charts
from core.charts import explain as explain_charts
from core.charts import fairness as fairness_charts
from core.charts import glossary as glossary_charts
from core.charts import predict as predict_charts
from core.charts import results as result_charts
from core.charts import style
from core.charts import training as training_charts
from core.charts import words as words_charts
from core.explain import Explanation
from core.profiling import profile
from core.schema import effective_roles, infer_roles
from core.target import Task

#: A run's models in the order it trained them (the baseline first, as the app adds it).
RUN = ["Baseline", "Logistic regression", "Random forest", "Neural network (Keras)"]
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


def binary_curves(seed: int) -> tuple[tuple, tuple]:
    """(ROC, PR) curves of a noisy binary model on 60 rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    p = np.clip(y * 0.3 + rng.uniform(0, 0.7, 60), 0, 1)
    proba = np.column_stack([1 - p, p])
    return results.roc_curves(y, proba, [0, 1])[1], results.pr_curves(y, proba, [0, 1])[1]


def line_colour(fig: go.Figure, name: str) -> str:
    (trace,) = [t for t in fig.data if str(t.name).startswith(name + " (")]
    return trace.line.color


# --------------------------------------------------------------------------- 1. one colour per model


def test_a_model_has_one_colour_on_the_roc_pr_leaderboard_and_training_charts_of_its_run():
    colors = charts.model_colors(RUN)
    curves = {name: binary_curves(i) for i, name in enumerate(RUN)}
    # the overlays hold the models in another order, and not all of them: colours follow the run, not the figure
    overlaid = ["Neural network (Keras)", "Baseline", "Random forest"]
    roc = charts.roc_figure({m: curves[m][0] for m in overlaid}, colors=colors)
    pr = charts.pr_figure({m: curves[m][1] for m in overlaid}, colors=colors)
    board = pd.DataFrame({"model": ["Random forest", "Neural network (Keras)", "Logistic regression", "Baseline"]})
    board["Accuracy"] = [0.9, 0.85, 0.8, 0.5]
    bars = charts.leaderboard_chart(board, "Accuracy", colors=colors).data[0]
    on_board = dict(zip(bars.y, bars.marker.color, strict=True))
    history = {"loss": [1.0, 0.6, 0.5], "val_loss": [1.1, 0.8, 0.7]}
    network = charts.training_curves(history, best_epoch=3, color=colors["Neural network (Keras)"])
    times = pd.DataFrame({"model": RUN, "score": [0.5, 0.8, 0.9, 0.85], "seconds": [0.01, 0.2, 2.0, 9.0]})
    scatter = charts.time_vs_score_figure(times.assign(baseline=[True, False, False, False]), "Accuracy", colors)
    on_scatter = {}
    for trace in scatter.data:  # the models' points, then the baseline's
        shades = [trace.marker.color] * len(trace.text) if isinstance(trace.marker.color, str) else trace.marker.color
        on_scatter.update(zip(trace.text, shades, strict=True))

    for model in overlaid:
        assert line_colour(roc, model) == line_colour(pr, model) == on_board[model] == on_scatter[model], model
    assert on_board["Logistic regression"] == on_scatter["Logistic regression"]
    curves = [t for t in network.data if not t.name.startswith("best epoch")]
    assert {t.line.color for t in curves} == {on_board["Neural network (Keras)"]}
    assert on_board["Baseline"] == charts.BASELINE_COLOR, "the baseline is the neutral grey"
    models = [on_board[m] for m in RUN[1:]]
    assert len(set(models)) == 3 and set(models) <= OKABE_ITO, "distinct colour-blind-safe colours"


def test_colours_come_from_the_models_place_in_the_run_the_same_on_every_page():
    assert charts.model_colors(RUN) == {
        "Baseline": charts.BASELINE_COLOR,
        "Logistic regression": charts.MODEL_PALETTE[0],
        "Random forest": charts.MODEL_PALETTE[1],
        "Neural network (Keras)": charts.MODEL_PALETTE[2],
    }
    request = SimpleNamespace(models=[SimpleNamespace(name=n) for n in RUN])
    assert charts.run_colors(request) == charts.model_colors(RUN)
    many = charts.model_colors(["Baseline", *(f"m{i}" for i in range(9))])
    assert many["m7"] == many["m0"], "past seven models the palette starts again"
    regression = {m: results.residuals_frame(np.arange(4.0), np.arange(4.0) + i) for i, m in enumerate(RUN[2:])}
    overlay = charts.residuals_overlay_figure(regression, charts.model_colors(RUN))
    assert [t.marker.color for t in overlay.data] == [charts.MODEL_PALETTE[1], charts.MODEL_PALETTE[2]]
    metrics = pd.DataFrame({"Baseline · ab12": [0.5], "Ridge · cd34": [0.8]}, index=["r2"])
    assert [t.marker.color for t in charts.run_metrics_chart(metrics).data] == [
        charts.BASELINE_COLOR,
        charts.MODEL_PALETTE[0],
    ]


# --------------------------------------------------------------------------- 2. the chosen model overlaid


def test_the_chosen_model_is_always_among_the_overlaid_models():
    run = ["Baseline", "A", "B", "C", "D", "E"]
    assert charts.overlay_models(run, "B") == ["Baseline", "A", "B", "C"], "in the first four: as they are"
    assert charts.overlay_models(run, "E") == ["Baseline", "A", "B", "E"], "the chosen one takes the last place"
    assert charts.overlay_models(run, "E", picked=["A"]) == ["A", "E"], "picks without it get it back"
    assert charts.overlay_models(run, "E", picked=[]) == ["E"]
    assert charts.overlay_models(run, "B", picked=["D", "B"]) == ["B", "D"], "in the run's order"
    assert charts.overlay_models(run[:3], None) == ["Baseline", "A", "B"]


# --------------------------------------------------------------------------- 3. a constant baseline


@pytest.mark.parametrize("strategy", ["prior", "most_frequent"])
def test_a_constant_baseline_is_flat_at_the_positive_rate_in_pr_and_the_diagonal_in_roc(strategy):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] + rng.normal(0, 0.5, 80) > 0.6, "yes", "no")
    rate = float(np.mean(y == "yes"))
    dummy = DummyClassifier(strategy=strategy).fit(X, y)
    model = LogisticRegression().fit(X, y)
    classes = list(dummy.classes_)
    colors = charts.model_colors(["Baseline", "Logistic regression"])
    pr = charts.pr_figure(
        {
            "Baseline": results.pr_curves(y, dummy.predict_proba(X), classes, "yes")["yes"],
            "Logistic regression": results.pr_curves(y, model.predict_proba(X), classes, "yes")["yes"],
        },
        baseline=rate,
        colors=colors,
    )
    guessing, baseline, logistic = pr.data
    assert list(baseline.x) == [0.0, 1.0] and list(baseline.y) == pytest.approx([rate, rate])
    assert list(baseline.y) == pytest.approx(list(guessing.y)), "the baseline is the line of guessing"
    assert baseline.name == f"Baseline (AP {rate:.3f})"
    assert len(logistic.x) > 2 and max(logistic.y) == 1.0, "a real model's curve is drawn as it is"
    roc = charts.roc_figure({"Baseline": results.roc_curves(y, dummy.predict_proba(X), classes, "yes")["yes"]})
    assert list(roc.data[1].x) == [0.0, 1.0] and list(roc.data[1].y) == [0.0, 1.0], "the diagonal"
    assert "(AUC 0.500)" in roc.data[1].name


# --------------------------------------------------------------------------- 5. titles clear of legends


def small_explanation() -> Explanation:
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame(
        {
            "area": rng.uniform(30, 200, n),
            "district": rng.choice(["Old Town", "Docks", None], n),
            "age": rng.uniform(0, 99, n),
        }
    )
    values = np.column_stack(
        [frame["area"] - 100, np.where(frame["district"] == "Docks", 5.0, -2.0), frame["age"] / 10]
    )
    return Explanation(
        values=values,
        base_value=250.0,
        data=frame,
        columns=list(frame.columns),
        output="price",
        output_name="predicted price",
        classes=None,
        method="TreeSHAP (exact)",
        rows=n,
        seconds=0.1,
        raw_values=values,
        raw_names=list(frame.columns),
        raw_sources=[(c,) for c in frame.columns],
        task=Task.REGRESSION,
        target="price",
    )


def every_figure() -> dict[str, go.Figure]:
    """One figure of every chart function, from small inputs (several models where it takes several)."""
    from core.split import SplitConfig, make_split, split_summary

    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0], "label": ["a", "b", "a", None, "a", "b"]})
    frame["z"] = [2.0, 4.0, 6.0, 8.0, 10.0, 13.0]
    prof = profile(frame, effective_roles(infer_roles(frame), {}))
    expl = small_explanation()
    roc = {m: binary_curves(i)[0] for i, m in enumerate(RUN)}
    pr = {m: binary_curves(i)[1] for i, m in enumerate(RUN)}
    y3 = np.array(["a", "b", "c"] * 10)
    proba3 = np.random.default_rng(0).dirichlet([1, 1, 1], 30)
    calibration = results.calibration_table(y3, proba3, ["a", "b", "c"], bins=5)
    residuals = results.residuals_frame(np.arange(6.0), np.arange(6.0) + np.array([0.5, -0.5, 1, 0, 0, 1]))
    times = pd.DataFrame(
        {"model": RUN, "score": [0.5, 0.8, 0.9, 0.85], "seconds": [0.01, 0.2, 2.0, 9.0], "baseline": [1, 0, 0, 0]}
    ).astype({"baseline": bool})
    pca = results.pca_projection(np.random.default_rng(0).normal(size=(30, 3)), np.array([0, 1, -1] * 10))
    clusters = results.cluster_profiles(
        pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0], "c": ["r", "r", "b", "b"]}), np.array([0, 0, 1, 1])
    )
    learning = pd.DataFrame(
        {
            "rows": [10, 20],
            "train_mean": [1.0, 0.9],
            "train_std": [0, 0.1],
            "valid_mean": [0.6, 0.7],
            "valid_std": [0.1, 0],
        }
    )
    board = pd.DataFrame({"model": RUN, "Accuracy": [0.5, 0.8, 0.9, 0.85]})
    history = {"loss": [1.0, 0.6], "val_loss": [1.1, 0.8], "accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]}
    permutation = pd.DataFrame({"column": ["area", "age"], "importance_mean": [0.3, 0.1], "importance_std": [0.02, 0]})
    tokens = pd.DataFrame(
        {"token": ["free", "meet"], "mean_abs": [0.3, 0.2], "mean": [0.25, -0.1], "rows_with_token": [4, 7]}
    )
    y = pd.Series(["a", "b"] * 10, name="label")
    split = make_split(y.to_frame(), "label", Task.BINARY, SplitConfig(stratify=False))
    metrics = pd.DataFrame({"Ridge · 1": [0.8, 0.7], "Forest · 2": [0.9, 0.6]}, index=["r2", "accuracy"])
    return {
        "column_distribution": charts.column_distribution(prof.column("x")),
        "missing_values": charts.missing_values(prof),
        "correlation_heatmap": charts.correlation_heatmap(prof.correlation),
        "target_distribution": charts.target_distribution(frame["label"], Task.BINARY),
        "before_after": charts.before_after((10, 8), (5, 4), (7, 0)),
        "run_metrics_chart": charts.run_metrics_chart(metrics),
        "beeswarm": charts.beeswarm(expl),
        "dependence": charts.dependence(expl, "area", color_by="district"),
        "importance_bar": charts.importance_bar(expl),
        "permutation_bar": charts.permutation_bar(permutation),
        "token_bar": charts.token_bar(tokens, "message"),
        "waterfall": charts.waterfall(expl, 0),
        "probability_bars": charts.probability_bars({"a": 0.7, "b": 0.3}),
        "calibration_figure": charts.calibration_figure({"A": calibration, "B": calibration}),
        "cluster_profile_figure": charts.cluster_profile_figure(clusters),
        "clusters_figure": charts.clusters_figure(pca),
        "confusion_matrix_figure": charts.confusion_matrix_figure(
            pd.DataFrame([[3, 1], [0, 2]], index=["a", "b"], columns=["a", "b"])
        ),
        "learning_curve_figure": charts.learning_curve_figure(learning, "Accuracy"),
        "pr_figure": charts.pr_figure(pr, baseline=0.5),
        "predicted_vs_actual_figure": charts.predicted_vs_actual_figure(residuals),
        "residuals_figure": charts.residuals_figure(residuals),
        "residuals_overlay_figure": charts.residuals_overlay_figure({m: residuals for m in RUN}),
        "roc_figure": charts.roc_figure(roc),
        "time_vs_score_figure": charts.time_vs_score_figure(times, "Accuracy"),
        "leaderboard_chart": charts.leaderboard_chart(board, "Accuracy"),
        "split_sizes": charts.split_sizes(split_summary(split, y)),
        "staged_curve": charts.staged_curve({"validation accuracy": [0.5, 0.6]}, label="Forest"),
        "training_curves": charts.training_curves(history, best_epoch=2),
        "tuning_curve": charts.tuning_curve([0.5, 0.7, 0.6], "Accuracy"),
        "fairness_figure": fairness_charts.fairness_figure(
            pd.DataFrame({"group": ["A", "B"], "rows": [40, 35], "judged": [True, True], "accuracy": [0.9, 0.6]}),
            {"accuracy": "Accuracy"},
            {"accuracy": 0.76},
            column="group",
        ),
        "activation_plot": glossary_charts.activation_plot("relu"),
        "words_bar": charts.words_bar(
            pd.DataFrame(
                {"word": ["free", "meeting"], "mean_effect": [0.3, -0.1], "rows": [5, 3], "share": [0.5, 0.3]}
            ),
            "message",
            "probability of 'spam'",
            rows=10,
        ),
        "row_words_bar": charts.row_words_bar(
            pd.DataFrame({"word": ["win", "lunch"], "effect": [0.2, -0.05], "occurrences": [1, 2]}),
            "probability of 'spam'",
        ),
        "anomaly_score_figure": charts.anomaly_score_figure(np.linspace(0.3, 0.8, 50), 0.7, 0.65),
        "agreement_figure": charts.agreement_figure(
            pd.DataFrame(
                [[1.0, 0.6], [0.6, 1.0]], index=["Isolation forest", "LOF"], columns=["Isolation forest", "LOF"]
            )
        ),
    }


#: Functions of the chart modules that return no figure.
NOT_FIGURES = {"downsample", "is_ordered", "value_colors", "overlay_models", "activation_values"}
MODULES = (
    anomaly_charts,
    data_charts,
    experiment_charts,
    explain_charts,
    fairness_charts,
    glossary_charts,
    predict_charts,
    result_charts,
    training_charts,
    words_charts,
)
FIGURES = sorted(
    name
    for module in MODULES
    for name in module.__all__
    if inspect.isfunction(getattr(module, name)) and name not in NOT_FIGURES
)


@pytest.fixture(scope="module")
def figures() -> dict[str, go.Figure]:
    return every_figure()


def test_every_chart_function_is_checked_for_its_layout(figures):
    assert set(FIGURES) == set(figures), "a new chart function needs a figure in every_figure()"


def test_every_chart_is_drawn_in_the_light_look_from_plotlys_default_template(figures):
    """Catches a chart in plotly's own look (grey grid, other colours) once no chart sets its template itself.

    The light look is plotly's default template (set when the charts are imported), which plotly does not
    validate again per figure; each figure still carries it, so the browser and the report draw it.
    """
    light = style.palette("Light").template.to_plotly_json()
    assert "template" not in style.LAYOUT
    for name, fig in figures.items():
        assert fig.to_plotly_json()["layout"]["template"] == light, name


def _legend_visible(fig: go.Figure) -> bool:
    entries = [t for t in fig.data if t.showlegend is not False and t.name]
    return bool(entries) and (fig.layout.showlegend if fig.layout.showlegend is not None else len(entries) > 1)


def _above_plot(fig: go.Figure) -> bool:
    notes = any(a.yref in (None, "paper") and (a.y or 0) >= 1 and a.yanchor != "top" for a in fig.layout.annotations)
    labels = any(
        getattr(t, "cliponaxis", None) is False and "top" in str(getattr(t, "textposition", "")) for t in fig.data
    )
    return notes or labels


@pytest.mark.parametrize("name", FIGURES)
def test_the_title_never_overlaps_the_legend_or_what_sits_above_the_plot(name, figures):
    fig = figures[name]
    layout, top = fig.layout, fig.layout.margin.t or 0
    height = layout.height or 450
    title = 0
    if layout.title.text:
        assert (layout.title.yref, layout.title.y, layout.title.yanchor) == ("container", 1, "top"), "title on top"
        assert top >= style.TITLE_PX, f"a title needs {style.TITLE_PX} px, has {top}"
        title = style.TITLE_PX
    legend = 0
    if _legend_visible(fig) and layout.legend.orientation == "h" and layout.legend.yanchor != "bottom":
        assert layout.legend.yref == "container" and layout.legend.yanchor == "top"
        legend_top = (1 - layout.legend.y) * height
        assert legend_top >= title - 1, "the legend starts below the title"
        legend = style.ROW_PX * style.legend_rows(fig)
        assert top >= legend_top + legend - 0.5, "the legend's rows end above the plot"
    elif _legend_visible(fig):
        on_the_side = layout.legend.orientation in (None, "v")
        at_the_bottom = layout.legend.yref == "container" and (layout.legend.y or 0) < 0.5
        assert on_the_side or at_the_bottom, "a legend anywhere else is clear of the title"
    if _above_plot(fig):
        assert top >= title + legend + style.ROW_PX, "subplot titles and labels get their own row"


def test_a_long_legend_takes_more_rows_and_the_figure_grows_to_keep_its_plot():
    names = [f"A model with a long name {i}" for i in range(8)]
    few = charts.roc_figure({n: binary_curves(0)[0] for n in names[:2]}, colors=charts.model_colors(names))
    many = charts.roc_figure({n: binary_curves(0)[0] for n in names}, colors=charts.model_colors(names))
    assert style.legend_rows(many) > style.legend_rows(few)
    assert many.layout.margin.t > few.layout.margin.t
    assert many.layout.height - many.layout.margin.t == few.layout.height - few.layout.margin.t


def test_the_best_epoch_is_named_in_the_legend_not_written_over_the_subplot_titles():
    fig = charts.training_curves({"loss": [1.0, 0.5], "val_loss": [1.0, 0.7]}, best_epoch=2)
    assert not [a for a in fig.layout.annotations if "best epoch" in a.text]
    (entry,) = [t for t in fig.data if t.name == "best epoch 2"]
    assert entry.line.dash == "dash" and entry.line.color == fig.layout.shapes[0].line.color


def test_a_larger_theme_font_gets_more_room_above_the_plot():
    light = charts.apply_theme(charts.training_curves({"loss": [1.0, 0.5], "val_loss": [1.0, 0.7]}), "Light")
    contrast = charts.apply_theme(charts.training_curves({"loss": [1.0, 0.5], "val_loss": [1.0, 0.7]}), "High contrast")
    assert contrast.layout.margin.t > light.layout.margin.t
    assert contrast.layout.legend.y == light.layout.legend.y == 1.0, "the legend on top: no title here"


# --------------------------------------------------------------------------- 6. palettes and themes


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


def test_the_explanations_diverging_scale_is_purple_to_orange_not_red_to_blue():
    low, high = charts.DIVERGING[0][1], charts.DIVERGING[-1][1]
    assert 250 < _hue(low) < 290, "purple"
    assert 20 < _hue(high) < 40, "orange"
    assert (low, high) == (charts.NEGATIVE, charts.POSITIVE)
    expl = small_explanation()
    swarm = charts.beeswarm(expl)
    scaled = next(t for t in swarm.data if t.marker.colorscale is not None)
    assert [list(stop) for stop in scaled.marker.colorscale] == [list(stop) for stop in charts.DIVERGING]
    assert "purple low → orange high" in scaled.name
    steps = charts.waterfall(expl, 0).data[0]
    assert (steps.increasing.marker.color, steps.decreasing.marker.color) == (charts.POSITIVE, charts.NEGATIVE)


def test_three_themes_keep_model_colours_and_change_background_text_and_lines():
    assert charts.THEMES == ("Light", "Dark", "High contrast")
    colors = charts.model_colors(RUN)
    figures = {}
    for theme in charts.THEMES:
        fig = charts.roc_figure({m: binary_curves(i)[0] for i, m in enumerate(RUN)}, colors=colors)
        assert charts.apply_theme(fig, theme) is fig
        figures[theme] = fig
        assert charts.palette(theme).models == charts.MODEL_PALETTE
    light, dark, contrast = (figures[t] for t in charts.THEMES)
    for model in RUN[1:]:
        assert line_colour(light, model) == line_colour(dark, model) == line_colour(contrast, model) == colors[model]
    assert light.layout.template.layout.paper_bgcolor == "white"
    assert dark.layout.template.layout.paper_bgcolor == "rgba(0,0,0,0)", "the dark page shows through"
    assert contrast.layout.template.layout.paper_bgcolor == "#FFFFFF"
    assert contrast.layout.font.color == "#000000" and contrast.layout.font.size >= 16
    assert contrast.layout.template.layout.xaxis.linecolor == "#000000"
    widths = [t.line.width for t in contrast.data]
    assert min(widths) >= 3, "thicker lines in high contrast"
    assert all(t.line.width in (None, 2) for t in light.data)
    # the greys of the guessing line and the baseline follow the theme: darker on white, lighter on black
    assert line_colour(contrast, "Baseline") == charts.palette("High contrast").baseline != charts.BASELINE_COLOR
    assert dark.data[0].line.color == charts.palette("Dark").muted
    assert all(
        template.layout.colorway == charts.MODEL_PALETTE
        for template in (light.layout.template, dark.layout.template, contrast.layout.template)
    )


@pytest.mark.parametrize("theme", ["Dark", "High contrast"])
def test_every_chart_takes_every_theme_and_keeps_its_title_clear(theme, figures):
    for name, original in figures.items():
        fig = charts.apply_theme(go.Figure(original), theme)
        assert fig.layout.template.layout.colorway == charts.MODEL_PALETTE, name
        if fig.layout.title.text:
            assert fig.layout.margin.t >= style.top_band(fig)["top"] >= style.TITLE_PX, name


def test_an_unknown_theme_says_which_there_are():
    with pytest.raises(ValueError, match="Light, Dark, High contrast"):
        charts.palette("Sepia")
