"""core.charts: figures as objects (traces, titles, data), and escaped labels."""

import numpy as np
import pandas as pd

from core import charts
from core.profiling import profile
from core.schema import effective_roles, infer_roles
from core.target import Task

FRAME = pd.DataFrame(
    {
        "<b>x</b>": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        "z": [2.0, 4.0, 6.0, 8.0, 10.0, 13.0],
        "label": ["a", "b", "a", None, "a", "a"],
        "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]),
    }
)
PROFILE = profile(FRAME, effective_roles(infer_roles(FRAME), {}))


def test_safe_text_escapes_markup_and_shortens():
    assert charts.safe_text("<script>") == "&lt;script&gt;"
    assert charts.safe_text("a" * 100, limit=10) == "a" * 9 + "…"


def test_numeric_distribution_is_a_histogram_of_the_profile():
    fig = charts.column_distribution(PROFILE.column("z"))
    assert len(fig.data) == 1 and fig.data[0].type == "bar"
    assert sum(fig.data[0].y) == 6


def test_label_distribution_is_horizontal_bars_of_top_values():
    fig = charts.column_distribution(PROFILE.column("label"))
    assert fig.data[0].orientation == "h"
    assert list(fig.data[0].y) == ["a", "b"] and list(fig.data[0].x) == [4, 1]


def test_datetime_distribution_renders():
    fig = charts.column_distribution(PROFILE.column("when"))
    assert sum(fig.data[0].y) == 6


def test_missing_values_chart_escapes_names_and_sorts():
    fig = charts.missing_values(PROFILE)
    assert list(fig.data[0].y) == ["&lt;b&gt;x&lt;/b&gt;", "label"]
    assert fig.layout.xaxis.title.text == "% of rows missing"
    assert all(0 < v <= 100 for v in fig.data[0].x)


def test_correlation_heatmap_is_symmetric_with_escaped_labels():
    fig = charts.correlation_heatmap(PROFILE.correlation)
    z = np.array(fig.data[0].z)
    assert z.shape == (2, 2) and np.allclose(z, z.T)
    assert "&lt;b&gt;x&lt;/b&gt;" in fig.data[0].x
    assert fig.data[0].zmin == -1 and fig.data[0].zmax == 1


def test_target_distribution_classification_and_regression():
    fig = charts.target_distribution(FRAME["label"], Task.BINARY)
    assert list(fig.data[0].y) == [4, 1]
    assert fig.data[0].text[0] == "80%"
    reg = charts.target_distribution(FRAME["z"], Task.REGRESSION)
    assert reg.data[0].type == "histogram"
    assert reg.layout.xaxis.title.text == "z"


def test_before_after_has_two_groups():
    fig = charts.before_after((10, 8), (5, 4), (7, 0))
    assert [t.name for t in fig.data] == ["before", "after"]
    assert list(fig.data[1].y) == [8, 4, 0]


# --------------------------------------------------------------------------- thousands of classes


def _many_classes(rows: int = 20_000, classes: int = 5_000) -> pd.Series:
    rng = np.random.default_rng(0)
    labels = np.array([f"c{i % classes:04d}" for i in range(rows)] + ["common"] * 500)
    return pd.Series(labels[rng.permutation(len(labels))], name="label")


def test_split_chart_of_five_thousand_classes_has_a_bounded_legend():
    from core.limits import CHART_CATEGORIES
    from core.split import SplitConfig, make_split, split_summary

    y = _many_classes()
    split = make_split(y.to_frame(), "label", Task.MULTICLASS, SplitConfig(stratify=False))
    fig = charts.split_sizes(split_summary(split, y))
    assert len(fig.data) <= CHART_CATEGORIES
    names = [t.name for t in fig.data]
    assert names[0] == "common" and f"other ({5_000 - (CHART_CATEGORIES - 2):,} classes)" in names
    assert sum(sum(t.y) for t in fig.data) == len(y), "every row is still counted"


def test_target_distribution_of_five_thousand_classes_groups_the_rest_in_one_bar():
    from core.limits import CHART_CATEGORIES

    fig = charts.target_distribution(_many_classes(), Task.MULTICLASS)
    bars = fig.data[0]
    assert len(bars.x) == CHART_CATEGORIES
    assert bars.x[0] == "common" and bars.x[-1].startswith("other (")
    assert sum(bars.y) == 20_500
    assert "29 most frequent of 5,001" in fig.layout.title.text


def test_confusion_matrix_and_curves_of_many_classes_stay_small():
    from core.evaluation import confusion_frame
    from core.limits import CHART_CATEGORIES
    from core.results import roc_curves

    y = _many_classes(4_000, 1_000).to_numpy()
    classes = sorted(set(y))
    frame = confusion_frame(y, y, classes)
    assert frame.shape == (CHART_CATEGORIES, CHART_CATEGORIES)
    assert frame.index[0] == "common" or "common" in frame.index
    assert frame.index[-1] == f"other ({1_001 - (CHART_CATEGORIES - 1):,} classes)"
    assert int(frame.to_numpy().sum()) == len(y) and int(np.trace(frame.to_numpy())) == len(y)
    assert len(charts.confusion_matrix_figure(frame).data[0].y) == CHART_CATEGORIES

    proba = np.random.default_rng(0).dirichlet(np.ones(len(classes)), size=len(y))
    assert len(roc_curves(y, proba, classes)) <= CHART_CATEGORIES
