"""core.charts.explain: figures of explanations, checked as objects (traces, titles, labels, data).

The explanations here are built by hand, so no model or shap is needed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core import charts
from core.explain import Explanation, format_value, importance_frame
from core.numbers import format_number
from core.target import Task

NASTY = "<b>area</b>"


@pytest.fixture(scope="module")
def expl() -> Explanation:
    """Price explained by area (rising), a district (one strong category), age (interacts with area), noise."""
    rng = np.random.default_rng(0)
    n = 300
    area = rng.uniform(30, 200, n)
    district = rng.choice(["Old Town", "Docks", "Hill"], n)
    age = rng.uniform(0, 100, n)
    noise = rng.normal(0, 1, n)
    data = pd.DataFrame({NASTY: area, "district": district, "age": age, "noise": noise})
    data.loc[data.index[:10], "district"] = None
    values = np.column_stack(
        [
            (area - area.mean()) * 1000 * (1 + (age > 50)),  # area's effect doubles for old houses
            np.where(district == "Old Town", 40_000.0, -10_000.0),
            (age - age.mean()) * 10,
            noise * 5,
        ]
    )
    return Explanation(
        values=values,
        base_value=250_000.0,
        data=data,
        columns=list(data.columns),
        output="price",
        output_name="predicted price",
        classes=None,
        method="TreeSHAP (exact)",
        rows=n,
        seconds=0.1,
        raw_values=values,
        raw_names=list(data.columns),
        raw_sources=[(c,) for c in data.columns],
        task=Task.REGRESSION,
        target="price",
    )


def test_importance_bar_orders_columns_and_groups_the_rest(expl):
    fig = charts.importance_bar(expl, top=2)
    named, rest = fig.data
    assert named.type == rest.type == "bar"
    assert list(named.y) == ["&lt;b&gt;area&lt;/b&gt;", "district"] and list(rest.y) == ["2 other columns"]
    assert named.x[0] == pytest.approx(np.abs(expl.values[:, 0]).mean())
    assert "predicted price" in fig.layout.title.text and "mean |SHAP|" in fig.layout.xaxis.title.text


def test_a_large_catch_all_bar_sits_apart_and_never_sets_the_axis(expl):
    """Sixty small columns add up to more than the top one: the named bars still fill the axis."""
    rng = np.random.default_rng(1)
    small = rng.normal(0, 1, (expl.rows, 60)) * 3_000
    many = dataclasses.replace(
        expl,
        values=np.column_stack([expl.values, small]),
        data=pd.concat([expl.data, pd.DataFrame(small, columns=[f"c{i}" for i in range(60)])], axis=1),
        columns=[*expl.columns, *[f"c{i}" for i in range(60)]],
    )
    fig = charts.importance_bar(many, top=4)
    named, rest = fig.data
    total = float(importance_frame(many).iloc[4:]["mean_abs"].sum())
    assert total > max(named.x), "the catch-all is larger than the top column"
    assert rest.y == ("60 other columns",) and rest.marker.color != named.marker.color
    low, high = fig.layout.xaxis.range
    assert low == 0 and max(named.x) <= high < 1.2 * max(named.x), "the axis is set by the named bars"
    assert rest.x[0] <= high and format_number(total) in rest.text[0], "clipped, its value written"
    order = list(fig.layout.yaxis.categoryarray)
    assert order[-1] == "60 other columns" and order[:-1][-1].strip() == "", "a gap before it, at the bottom"


def traces(fig: go.Figure) -> dict[str, go.Scatter]:
    return {t.name: t for t in fig.data}


def test_beeswarm_puts_columns_by_importance_and_colours_numbers_by_value(expl):
    fig = charts.beeswarm(expl, top=3, max_points=300)
    named = traces(fig)
    points = fig.data[0]
    categories, missing = named["category or text (no low/high)"], named["missing value"]
    assert points.type == "scatter"
    assert list(fig.layout.yaxis.ticktext) == ["&lt;b&gt;area&lt;/b&gt;", "district", "age"]
    assert len(points.x) + len(categories.x) + len(missing.x) <= 300
    colours = np.asarray(points.marker.color, dtype=float)
    assert colours.min() >= 0 and colours.max() <= 1
    assert points.marker.colorbar.ticktext == ("low", "high") and points.marker.showscale
    assert fig.layout.xaxis.title.text == "contribution to the predicted price"
    assert all("<b>" not in str(row[0]) for row in points.customdata)  # escaped labels in hover
    # rows of the first column sit around y = 0, jittered less than half a row
    first = np.asarray(points.y)[np.asarray(points.customdata)[:, 0] == "&lt;b&gt;area&lt;/b&gt;"]
    assert np.all(np.abs(first) < 0.5)


def test_beeswarm_gives_categories_one_neutral_colour_named_in_the_legend(expl):
    fig = charts.beeswarm(expl, top=3, max_points=300)
    points, categories = fig.data[0], traces(fig)["category or text (no low/high)"]
    assert {row[0] for row in points.customdata} == {"&lt;b&gt;area&lt;/b&gt;", "age"}  # the scale: numbers only
    assert {row[0] for row in categories.customdata} == {"district"}
    assert isinstance(categories.marker.color, str) and categories.marker.colorscale is None
    assert fig.layout.showlegend and categories.showlegend is not False


def test_beeswarm_follows_the_persons_roles_for_numbers_that_are_categories(expl):
    fig = charts.beeswarm(expl, top=3, max_points=300, categorical={"age"})
    categories = traces(fig)["category or text (no low/high)"]
    assert {row[0] for row in categories.customdata} == {"district", "age"}
    assert {row[0] for row in fig.data[0].customdata} == {"&lt;b&gt;area&lt;/b&gt;"}


def test_beeswarm_colours_a_sample_by_its_whole_column(expl):
    """Numbers stored as text: the whole column is ordered even when a small sample holds only two values."""
    codes = pd.Series(["1"] * (expl.rows - 2) + ["2", "3"], dtype=object)
    fig = charts.beeswarm(dataclasses.replace(expl, data=expl.data.assign(age=codes)), top=4, max_points=40)
    assert "age" in {row[0] for row in fig.data[0].customdata}
    assert "age" not in {row[0] for row in traces(fig)["category or text (no low/high)"].customdata}


def test_only_numbers_and_dates_have_a_low_to_high_colour(expl):
    assert charts.is_ordered(expl.data["age"]) and not charts.is_ordered(expl.data["district"])
    assert charts.is_ordered(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])))
    assert not charts.is_ordered(pd.Series([True, False]))
    assert not charts.is_ordered(expl.data["age"], "age", categorical={"age"})
    with pytest.raises(ValueError, match="no order"):
        charts.value_colors(expl.data["district"])
    colours = charts.value_colors(pd.Series([1.0, 2.0, np.nan, 3.0]))
    assert colours[0] == 0 and colours[-1] == 1 and np.isnan(colours[2])


def test_dependence_picks_the_interacting_column_and_draws_a_trend(expl):
    fig = charts.dependence(expl, NASTY)
    assert [t.name for t in fig.data] == ["rows", "average"]
    assert fig.data[0].marker.colorbar.title.text == "age"
    assert fig.layout.xaxis.title.text == "&lt;b&gt;area&lt;/b&gt;"
    assert fig.layout.title.text == "How &lt;b&gt;area&lt;/b&gt; moves the predicted price"
    np.testing.assert_allclose(np.asarray(fig.data[0].y), expl.values[:, 0])
    chosen = charts.dependence(expl, "district", color_by="noise")
    assert chosen.data[0].marker.colorbar.title.text == "noise"
    assert "Old Town" in list(chosen.layout.xaxis.ticktext)


def test_dependence_coloured_by_a_category_uses_a_palette_and_a_legend(expl):
    fig = charts.dependence(expl, NASTY, color_by="district")
    rows = fig.data[:-1]
    assert {t.name for t in rows} == {"Docks", "Hill", "Old Town", "missing"} and rows[-1].name == "missing"
    assert all(t.marker.colorscale is None and t.marker.colorbar.title.text is None for t in rows)
    assert len({t.marker.color for t in rows}) == 4  # one colour per category
    assert sum(len(t.y) for t in rows) == expl.rows
    assert fig.layout.showlegend and fig.layout.legend.title.text == "district (categories)"
    assert fig.data[-1].name == "average" and fig.data[-1].showlegend is False
    missing = next(t for t in rows if t.name == "missing")
    assert len(missing.y) == 10


def test_dependence_colour_legend_escapes_category_names(expl):
    data = expl.data.assign(district=expl.data["district"].replace("Docks", "<i>Docks</i>"))
    fig = charts.dependence(dataclasses.replace(expl, data=data), NASTY, color_by="district")
    assert "&lt;i&gt;Docks&lt;/i&gt;" in {t.name for t in fig.data}


def test_dependence_follows_the_persons_roles_for_the_colour(expl):
    fig = charts.dependence(expl, "district", color_by="age", categorical={"age"})
    assert fig.layout.showlegend and fig.data[0].marker.colorscale is None
    assert "other values" in fig.data[-2].name  # 300 distinct ages: the ten most frequent, then the rest


def test_waterfall_goes_from_the_base_value_to_the_prediction(expl):
    fig = charts.waterfall(expl, 3, max_columns=2)
    (trace,) = fig.data
    assert trace.type == "waterfall"
    assert list(trace.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert trace.y[0] == "base value" and trace.y[-1] == "this row's prediction"
    top = np.argsort(-np.abs(expl.values[3]))[:2]
    expected = [f"{charts.safe_text(expl.columns[j], 30)} = {format_value(expl.data.iloc[3, j])}" for j in top]
    assert list(trace.y[1:3]) == expected and trace.y[3] == "2 other columns"
    assert trace.x[0] + sum(trace.x[1:4]) == pytest.approx(expl.predictions[3])
    assert fig.layout.title.text.startswith("Row 3: predicted price")


def test_permutation_bar_shows_spread_and_metric():
    frame = pd.DataFrame({"column": [NASTY, "b"], "importance_mean": [0.3, 0.1], "importance_std": [0.02, 0.01]})
    frame.attrs["metric"] = "R²"
    fig = charts.permutation_bar(frame)
    assert fig.data[0].type == "bar" and list(fig.data[0].error_x.array) == [0.02, 0.01]
    assert fig.data[0].y[0] == "&lt;b&gt;area&lt;/b&gt;" and "R²" in fig.layout.xaxis.title.text


def test_token_bar_colours_by_direction_where_the_word_appears():
    tokens = pd.DataFrame(
        {"token": ["free", "meeting"], "mean_abs": [0.3, 0.2], "mean": [0.25, -0.1], "rows_with_token": [4, 7]}
    )
    fig = charts.token_bar(tokens, "message", "log-odds of 'spam'")
    assert list(fig.data[0].y) == ["free", "meeting"] and list(fig.data[0].x) == [0.25, -0.1]
    assert fig.data[0].marker.color[0] != fig.data[0].marker.color[1]
    assert "message" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "average push on the log-odds of 'spam' in the rows containing the word"
    assert [row[0] for row in fig.data[0].customdata] == [4, 7] and "rows containing it" in fig.data[0].hovertemplate


def test_waterfall_title_can_name_the_row(expl):
    assert charts.waterfall(expl, 0).layout.title.text.startswith("Row ")
    assert charts.waterfall(expl, 0, label="This row").layout.title.text.startswith("This row: ")
