"""core.fairness: a model's scores per group of a column, the gaps, and findings that speak plainly.

Tables are generated with a gap built in (label noise of 40 % for group B, 2 % for group A) or none; the
group column is not one of the model's inputs, so the report must find its rows in the table as loaded.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from core.charts.fairness import fairness_figure
from core.cleaning import CleaningPlan
from core.errors import DashboardError
from core.fairness import ALL_ROWS, TOO_SMALL, fairness_report
from core.guards.thresholds import THRESHOLDS
from core.metrics import format_score
from core.model_card import card_markdown, with_fairness
from core.report import run_report
from core.results import predictions
from core.row_groups import MISSING, group_column, group_labels
from core.split import SplitConfig
from core.target import Task
from core.training import run_training
from tests.conftest import make_training_request

HOSTILE = "<b>grp</b>|**x**"


def people(n: int = 2_000, *, noise_a: float = 0.02, noise_b: float = 0.40, seed: int = 0) -> pd.DataFrame:
    """Two honest inputs, a group (A, B and a tiny C) that is not an input, an age with gaps, a yes/no label.

    The label is ``x1 + x2 > 0`` with a share of the labels flipped: ``noise_a`` in A and C, ``noise_b`` in B.
    """
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(["A", "B", "C"], n, p=[0.5, 0.47, 0.03])
    flip = rng.random(n) < np.where(group == "B", noise_b, noise_a)
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "group": group,
            "age": age,
            "grade": rng.choice(list("abcdefghijkl"), n, p=np.linspace(2, 0.2, 12) / np.linspace(2, 0.2, 12).sum()),
            "label": np.where((x1 + x2 > 0) ^ flip, "yes", "no"),
        }
    )


def trained(frame: pd.DataFrame, target: str = "label", task: Task = Task.BINARY, model: str = "logistic_regression"):
    request = make_training_request(
        frame, target, task, models=[model], features=["x1", "x2"], split=SplitConfig(seed=0, cv_folds=0)
    )
    return next(r for r in run_training(request) if r.name == model), request


@pytest.fixture(scope="module")
def gap():
    frame = people()
    model, request = trained(frame)
    return frame, model, request


@pytest.fixture(scope="module")
def fair():
    frame = people(noise_b=0.02)
    model, request = trained(frame)
    return frame, model, request


def group_row(report, name: str) -> dict:
    return report.table.set_index("group").loc[name].to_dict()


def test_a_built_in_gap_is_measured_and_said_in_plain_words_with_a_fix(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame, "group")
    a, b = group_row(report, "A"), group_row(report, "B")
    assert a["accuracy"] > 0.9 and b["accuracy"] < 0.7, "group B's noisy labels cost it accuracy"
    accuracy_gap = report.gaps.set_index("metric").loc["accuracy"]
    assert accuracy_gap["lowest"] == "B" and accuracy_gap["highest"] == "A"
    assert accuracy_gap["difference"] == pytest.approx(a["accuracy"] - b["accuracy"])
    assert accuracy_gap["ratio"] == pytest.approx(b["accuracy"] / a["accuracy"])
    finding = next(f for f in report.findings if f.check == "group_accuracy")
    assert finding.column == "group" and finding.level.value == "worth a look"
    assert finding.evidence == (
        f"Accuracy is {format_score('accuracy', a['accuracy'])} for group 'A' (n={a['rows']}) but "
        f"{format_score('accuracy', b['accuracy'])} for group 'B' (n={b['rows']}) on the validation rows."
    )
    assert finding.fix == (
        "Collect more rows of group 'B', check the features that stand in for 'group', or report the gap."
    )
    assert report.split == "validation" and not report.feature
    assert any("'group' is not one of the model's inputs" in note for note in report.notes)


def test_without_a_gap_there_is_no_warning(fair):
    frame, model, request = fair
    report = fairness_report(model, request, frame, "group")
    assert report.findings == []
    accuracy = report.gaps.set_index("metric").loc["accuracy"]
    assert accuracy["difference"] < 0.05, "the groups were scored, and are alike"
    assert fairness_report(model, request, frame, "age").findings == [], "age bins have no gap either"


def test_a_group_with_few_rows_is_shown_but_not_judged(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame, "group")
    c = group_row(report, "C")
    assert 0 < c["rows"] < THRESHOLDS.group_min_rows and not c["judged"] and c["note"] == TOO_SMALL
    assert "C" not in set(report.gaps["lowest"]) | set(report.gaps["highest"]), "left out of the gaps"
    shown = report.formatted().set_index("Group")
    assert shown.loc["C", "Note"] == TOO_SMALL and shown.loc["A", "Note"] == ""
    assert any(note.startswith(f"Too small to judge: 'C' ({c['rows']} rows)") for note in report.notes)


def test_the_table_equals_scikit_learns_metrics_on_each_groups_rows(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame, "group")
    pred = predictions(model, request, "valid")
    groups = frame["group"].to_numpy()[request.split.valid]  # no row step dropped rows: positions are the file's
    for name in ("A", "B", "C"):
        mine = groups == name
        y, p = pred.y[mine], pred.y_pred[mine]
        row = group_row(report, name)
        assert row["rows"] == mine.sum()
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
        assert row["recall_positive"] == pytest.approx(skm.recall_score(y, p, pos_label="yes"))
        assert row["precision_positive"] == pytest.approx(skm.precision_score(y, p, pos_label="yes"))
        assert row["selection_rate"] == pytest.approx(np.mean(p == "yes"))
    assert report.overall["accuracy"] == pytest.approx(skm.accuracy_score(pred.y, pred.y_pred))
    shown = report.formatted()
    assert shown.iloc[0]["Group"] == ALL_ROWS and shown.iloc[0]["Rows"] == f"{len(request.split.valid):,}"
    a = shown.set_index("Group").loc["A"]
    assert a["Accuracy"] == format_score("accuracy", group_row(report, "A")["accuracy"])


def test_a_numeric_column_with_many_values_is_cut_into_quantile_bins_and_missing_values_are_a_group(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame, "age")
    ages = frame["age"].to_numpy()[request.split.valid]
    table = report.table.set_index("group")
    bins = [g for g in table.index if g != MISSING]
    assert len(bins) == THRESHOLDS.group_bins
    for name in bins:  # "18 to 32": the lowest and highest age inside
        low, high = (float(v) for v in name.split(" to "))
        inside = (ages >= low) & (ages <= high)
        assert table.loc[name, "rows"] == inside.sum()
    assert table.loc[MISSING, "rows"] == np.isnan(ages).sum() > 0
    assert list(table.index) == [*sorted(bins, key=lambda g: float(g.split(" to ")[0])), MISSING], "bins in order"
    assert any("quantile bins" in note for note in report.notes)
    assert any(f"form the group '{MISSING}'" in note for note in report.notes)


def test_few_distinct_numbers_stay_groups_and_many_categories_keep_the_largest():
    few = group_labels(pd.Series([1.0, 2.0, 2.0, 3.0, np.nan]), "stars")
    assert list(few.labels.cat.categories) == ["1", "2", "3", MISSING] and few.other is None  # stars in order
    many = group_labels(pd.Series(list("aaaabbbccd") + list("efghijkl")), "letter")
    assert many.other == "other (4 groups)"
    assert len(many.labels.cat.categories) == THRESHOLDS.group_max + 1
    assert many.labels.cat.categories[:3].tolist() == ["a", "b", "c"], "the largest first"
    assert any("the 8 largest are shown" in note for note in many.notes)


def test_the_other_group_is_never_judged(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame, "grade")
    other = report.table[report.table["group"].str.startswith("other (")]
    assert len(other) == 1 and not other["judged"].iloc[0] and other["rows"].iloc[0] >= THRESHOLDS.group_min_rows


class Spy:
    """A fitted pipeline that records the row labels it was asked about."""

    def __init__(self, pipeline, seen: list):
        self._pipeline, self._seen = pipeline, seen

    def __getattr__(self, name):
        return getattr(self._pipeline, name)

    def predict(self, X):
        self._seen.extend(X.index)
        return self._pipeline.predict(X)

    def predict_proba(self, X):
        self._seen.extend(X.index)
        return self._pipeline.predict_proba(X)


def test_fairness_never_reads_the_test_split_until_it_was_scored(gap):
    frame, model, request = gap
    seen: list = []
    spied = dataclasses.replace(
        model, pipeline=Spy(model.pipeline, seen), before_refit=Spy(model.validated().pipeline, seen)
    )
    fairness_report(spied, request, frame, "group")
    assert seen and set(seen) <= set(request.split.valid), "validation rows only"
    with pytest.raises(DashboardError, match="test split stays unseen"):
        fairness_report(spied, request, frame, "group", part="test")
    assert set(seen).isdisjoint(request.split.test)
    scored = fairness_report(spied, request, frame, "group", part="test", test_scored=True)
    assert scored.split == "test" and scored.table["rows"].sum() == len(request.split.test)
    assert any("test rows, which were scored once" in note for note in scored.notes)


def test_a_column_left_out_of_the_features_is_matched_to_the_rows_after_the_row_steps():
    frame = people(300)
    frame["id"] = [f"p{i}" for i in range(len(frame))]
    frame.loc[::7, "label"] = None  # rows without a target are dropped before the split
    frame = pd.concat([frame, frame.iloc[:20]], ignore_index=True)  # exact duplicates, dropped by the plan
    request = make_training_request(
        frame, "label", Task.BINARY, features=["x1", "x2"], plan=CleaningPlan(drop_duplicates=True)
    )
    assert len(request.frame) < len(frame)
    ids = group_column(request, frame, "id")
    by_id = frame.drop_duplicates("id").set_index("id")
    assert by_id.loc[ids, "x1"].to_numpy() == pytest.approx(request.frame["x1"].to_numpy())
    with pytest.raises(DashboardError, match="not the one this model was trained on"):
        group_column(request, frame.iloc[5:], "id")


def test_regression_compares_errors_and_flags_a_group_with_larger_ones():
    rng = np.random.default_rng(1)
    n = 1_200
    x = rng.normal(size=n)
    region = rng.choice(["north", "south"], n)
    y = 3 * x + rng.normal(scale=np.where(region == "south", 3.0, 0.5))
    frame = pd.DataFrame({"x1": x, "x2": rng.normal(size=n), "region": region, "y": y})
    model, request = trained(frame, "y", Task.REGRESSION, "ridge")
    report = fairness_report(model, request, frame, "region")
    assert report.metrics == ("mae", "rmse", "r2") and report.charted() == {"mae": "MAE", "rmse": "RMSE"}
    pred = predictions(model, request, "valid")
    south = frame["region"].to_numpy()[request.split.valid] == "south"
    assert group_row(report, "south")["mae"] == pytest.approx(
        skm.mean_absolute_error(pred.y[south], pred.y_pred[south])
    )
    finding = next(f for f in report.findings if f.check == "group_error")
    assert "for group 'north'" in finding.evidence and "times as large" in finding.evidence
    assert finding.fix.startswith("Collect more rows of group 'south'")


def test_clustering_and_the_target_itself_are_refused_in_words(gap):
    frame, model, request = gap
    with pytest.raises(DashboardError, match="is the target"):
        fairness_report(model, request, frame, "label")
    clustering = dataclasses.replace(request, task=Task.CLUSTERING)
    with pytest.raises(DashboardError, match="clustering has no right answers"):
        fairness_report(model, clustering, frame, "group")


def test_the_chart_draws_each_metric_per_group_with_the_overall_line(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame.rename(columns={"group": HOSTILE}), HOSTILE)
    fig = fairness_figure(report.table, report.charted(), report.overall, column=report.column, split=report.split)
    assert [t.name for t in fig.data if t.type == "bar"] == ["Accuracy", "Recall (positive class)", "Selection rate"]
    assert next(t.name for t in fig.data if t.type != "bar").startswith("Accuracy, all rows: "), (
        "lines named in the legend"
    )
    assert not fig.layout.annotations, "no label written over the bars"
    assert list(fig.data[0].x) == ["A", "B", "C"] and list(fig.data[0].y) == pytest.approx(report.table["accuracy"])
    assert list(fig.data[0].marker.opacity) == [1.0, 1.0, 0.35], "the too-small group is faded"
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert lines[0].y0 == pytest.approx(report.overall["accuracy"])
    assert "<b>" not in fig.layout.title.text and "&lt;b&gt;" in fig.layout.title.text


def test_the_report_and_the_card_carry_the_table_and_the_findings(gap):
    frame, model, request = gap
    report = fairness_report(model, request, frame.rename(columns={"group": HOSTILE}), HOSTILE)
    b = format_score("accuracy", group_row(report, "B")["accuracy"])
    page = run_report(request, [model], model, "people.csv", fairness=[report])
    section = page.split("<h2>Fairness across groups</h2>", 1)[1].split("<h2>Caveats</h2>", 1)[0]
    assert "<h3>By &lt;b&gt;grp&lt;/b&gt;|**x** (validation rows)</h3>" in section
    rows_b = f"{group_row(report, 'B')['rows']:,}"
    assert f"<tr><td>B</td><td>{rows_b}</td><td>{b}</td>" in section, "the group's row, scores as the pages show them"
    assert '<div class="caveat">Accuracy is ' in section and "Collect more rows of group" in section
    assert HOSTILE not in page.split("</head>", 1)[1]
    assert "<h2>Fairness across groups</h2>" not in run_report(request, [model], model, "people.csv")

    card = with_fairness({"model": {"name": "m"}, "metrics": {}}, [report])
    json.dumps(card)  # plain values only
    entry = card["fairness"][0]
    assert entry["column"] == HOSTILE and {g["group"] for g in entry["groups"]} == {"A", "B", "C"}
    text = card_markdown(card)
    assert "## Fairness across groups" in text
    assert f"| B | {rows_b} | {b} |" in text
    assert "| C |" in text and "too few rows to judge |" in text
    assert "- **Worth a look:** Accuracy is" in text
    assert "### By `<b>grp</b>|**x**` (validation rows)" in text, "the column's name in a code span: literal"
    assert "\\<b\\>grp\\</b\\>\\|\\*\\*x\\*\\*" in text, "and escaped in the notes"
    assert "fairness" not in with_fairness(card, [])


def test_a_few_numbers_are_groups_in_their_order_not_by_how_many_rows_they_have():
    """Seen on plotly's tips table: party sizes read 2, 4, 3, 6, 1 (by count)."""
    from core.row_groups import group_labels

    sizes = pd.Series([2] * 50 + [4] * 20 + [3] * 15 + [6] * 3 + [1] * 2)
    groups = group_labels(sizes, "size")
    assert list(groups.labels.cat.categories) == ["1", "2", "3", "4", "6"]
