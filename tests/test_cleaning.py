"""core.cleaning: the plan as data, row steps, learned steps, preview."""

import json

import numpy as np
import pandas as pd
import pytest

from core.cleaning import (
    CleaningPlan,
    MissingRule,
    OutlierRule,
    apply_row_steps,
    apply_type_fixes,
    duplicated_mask,
    feature_repeats,
    learned_steps,
    needs_confirmation,
    outlier_bounds,
    parse_numbers,
    preview_effect,
    repeat_note,
    row_losses,
)
from core.errors import PlanError
from core.schema import Role

ROLES = {"x": Role.NUMERIC, "c": Role.CATEGORICAL, "t": Role.TEXT, "y": Role.CATEGORICAL}


def frame():
    return pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0, 3.0, 100.0, 2.0],
            "c": ["a", "b", None, None, "a", "b"],
            "t": ["hi there", "yo", "hey", "hey", "hello", None],
            "y": ["p", "q", "p", "p", None, "q"],
        }
    )


def test_plan_round_trips_through_json():
    plan = CleaningPlan(
        drop_columns=["t"],
        type_fixes={"x": "number"},
        missing_by_column={"c": MissingRule("constant", "unknown")},
        outliers=OutlierRule("zscore", "remove", 3.0),
        outlier_columns=["x"],
    )
    text = plan.to_json()
    assert json.loads(text)["outliers"]["method"] == "zscore"
    assert CleaningPlan.from_json(text) == plan


@pytest.mark.parametrize(
    "data",
    [
        {"nonsense": 1},
        {"missing_by_role": {"numeric": {"strategy": "guess"}}},
        {"type_fixes": {"x": "to-banana"}},
        {"outliers": {"method": "iqr", "action": "clip", "threshold": -1}},
    ],
)
def test_bad_plans_are_refused(data):
    with pytest.raises(PlanError):
        CleaningPlan.from_dict(data)


def test_validate_against_the_table():
    plan = CleaningPlan(missing_by_column={"c": MissingRule("mean")})
    with pytest.raises(PlanError, match="cannot be filled with the mean"):
        plan.validate(list(ROLES), ROLES)
    with pytest.raises(PlanError, match="not in the data"):
        CleaningPlan(drop_columns=["gone"]).validate(list(ROLES), ROLES)
    with pytest.raises(PlanError, match="must be a number"):
        CleaningPlan(missing_by_column={"x": MissingRule("constant", "abc")}).validate(list(ROLES), ROLES)
    CleaningPlan(type_fixes={"c": "number"}, missing_by_column={"c": MissingRule("mean")}).validate(list(ROLES), ROLES)


def test_parse_numbers_handles_the_usual_formats():
    values = pd.Series(["1,234.5", "$12", "12%", "(7)", "1.234,5", "-3", " 4 ", "n/a", None, "12,000"])
    parsed = parse_numbers(values)
    expected = [1234.5, 12, 12, -7, 1234.5, -3, 4, np.nan, np.nan, 12000]
    np.testing.assert_allclose(parsed.to_numpy(), expected)


def test_type_fix_reports_values_that_failed():
    out, notes = apply_type_fixes(pd.DataFrame({"p": ["$1", "two", "$3"]}), {"p": "number"})
    assert out["p"].tolist()[0] == 1.0 and np.isnan(out["p"].iloc[1])
    assert "1 value(s)" in notes[0] and "'two'" in notes[0]
    dates, _ = apply_type_fixes(pd.DataFrame({"d": ["2024-01-02", "2024-03-04"]}), {"d": "date"})
    assert pd.api.types.is_datetime64_any_dtype(dates["d"].dtype)
    cats, _ = apply_type_fixes(pd.DataFrame({"z": [1.0, 2.0, None]}), {"z": "category"})
    assert cats["z"].tolist()[:2] == ["1", "2"]


def test_row_steps_drop_duplicates_missing_target_and_chosen_rows():
    plan = CleaningPlan(missing_by_column={"c": MissingRule("drop_rows")})
    out, report = apply_row_steps(frame(), plan, "y", ["x", "c", "t"])
    assert report.duplicates_dropped == 1
    assert report.missing_target_dropped == 1
    assert report.missing_value_rows_dropped == 1
    assert len(out) == 3 and out["c"].notna().all()
    assert list(out.columns) == ["x", "c", "t", "y"]


def people(n: int = 1_300, seed: int = 0) -> pd.DataFrame:
    """Passengers: a unique name, a few coarse facts that repeat a lot, and survival."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "name": [f"Passenger {i}" for i in range(n)],
            "age": rng.integers(1, 8, n) * 10,
            "pclass": rng.integers(1, 4, n),
            "sex": rng.choice(["female", "male"], n),
            "survived": rng.choice(["no", "yes"], n, p=[0.62, 0.38]),
        }
    )


def test_duplicates_are_judged_on_every_column_of_the_file_not_the_chosen_features():
    """Two distinct people with the same age, class and sex are not duplicates (the name tells them apart).

    Catches duplicates judged on the chosen features (and target) only, which dropped most passengers.
    """
    table = people()
    chosen = ["age", "pclass", "sex"]
    assert table[[*chosen, "survived"]].duplicated().sum() > 1_000, "most people share their facts with another"
    out, report = apply_row_steps(table, CleaningPlan(), "survived", chosen)
    pd.testing.assert_frame_equal(out, table[[*chosen, "survived"]], obj="kept rows: every passenger, in order")
    assert report.duplicates_dropped == 0 and report.rows_dropped == 0, "and the report says none was dropped"
    assert (
        out["survived"]
        .value_counts(normalize=True)
        .round(6)
        .equals(table["survived"].value_counts(normalize=True).round(6))
    ), "class shares unchanged"
    assert report.feature_repeats > 1_000, "the repeats are counted, as information"
    assert report.feature_conflicts > 0
    note = repeat_note(report, "survived")
    assert "They are kept" in note and "different 'survived'" in note
    assert row_losses(report) == [] and not needs_confirmation(CleaningPlan(), report)


def test_exact_duplicates_of_the_whole_row_are_still_dropped():
    table = people(100)
    doubled = pd.concat([table, table.iloc[:10]], ignore_index=True)
    out, report = apply_row_steps(doubled, CleaningPlan(), "survived", ["age", "pclass", "sex"])
    assert report.duplicates_dropped == 10 and len(out) == 100


def test_a_step_that_drops_many_rows_must_be_confirmed_and_again_when_it_drops_more():
    table = people(400)
    table.loc[:99, "survived"] = None  # 25 % without a target
    plan = CleaningPlan()
    _, report = apply_row_steps(table, plan, "survived", ["age", "pclass", "sex"])
    losses = row_losses(report)
    assert [(loss.step, loss.rows) for loss in losses] == [("Dropping rows without a target", 100)]
    assert "drops 100 of 400 rows (25%)" in losses[0].message(report.rows_before)
    assert needs_confirmation(plan, report)
    plan.confirmed_row_loss = report.rows_dropped
    assert not needs_confirmation(plan, report)
    table.loc[100:149, "survived"] = None
    _, more = apply_row_steps(table, plan, "survived", ["age", "pclass", "sex"])
    assert needs_confirmation(plan, more), "a plan that now drops more rows asks again"
    assert CleaningPlan.from_json(plan.to_json()).confirmed_row_loss == 100


def test_feature_repeats_count_rows_that_cannot_be_told_apart():
    table = pd.DataFrame({"a": [1, 1, 1, 2], "y": ["x", "x", "z", "x"]})
    assert feature_repeats(table, ["a"], "y") == (1, 3)
    assert feature_repeats(table, ["a"], None) == (2, 0)


def test_row_steps_drop_columns_and_respect_switches():
    plan = CleaningPlan(drop_duplicates=False, drop_columns=["t"])
    out, report = apply_row_steps(frame(), plan, "y", ["x", "c", "t"])
    assert len(out) == 5, "duplicates kept; the row without a target still goes"
    assert "t" not in out.columns and report.columns_dropped == ["t"]
    unsupervised, _ = apply_row_steps(frame(), plan, None, ["x", "c", "t"])
    assert len(unsupervised) == 6


def test_rows_without_a_target_are_always_dropped_even_by_an_old_plan_that_kept_them():
    """Keeping them made every model fail with 'Input y contains NaN'."""
    old = json.loads(CleaningPlan().to_json())
    old["drop_missing_target"] = False
    plan = CleaningPlan.from_dict(old)
    out, report = apply_row_steps(frame(), plan, "y", ["x", "c", "t"])
    assert out["y"].notna().all() and report.missing_target_dropped == 1


def test_learned_steps_are_recorded_not_fitted():
    plan = CleaningPlan(missing_by_column={"c": MissingRule("constant", "")}, outliers=OutlierRule())
    steps = learned_steps(plan, ROLES, ["x", "c", "t"])
    kinds = {(s.kind, s.role, s.strategy): s.columns for s in steps}
    assert kinds[("impute", Role.NUMERIC, "median")] == ("x",)
    assert kinds[("impute", Role.CATEGORICAL, "constant")] == ("c",)
    assert kinds[("impute", Role.TEXT, "constant")] == ("t",)
    assert kinds[("outliers", None, "iqr")] == ("x",)
    fills = {s.columns: s.fill_value for s in steps if s.kind == "impute"}
    assert fills == {("x",): None, ("c",): "", ("t",): ""}, "the person's fill values only: no median from the rows"
    assert [(s.action, s.threshold) for s in steps if s.kind == "outliers"] == [("clip", 1.5)], "the rule, not bounds"


def test_outlier_bounds():
    values = pd.Series([1, 2, 3, 4, 100], dtype=float)
    low, high = outlier_bounds(values, "iqr", 1.5)
    assert (low, high) == (-1.0, 7.0)
    low, high = outlier_bounds(pd.Series([0.0, 2.0]), "zscore", 2.0)
    assert (low, high) == (-1.0, 3.0)


def test_preview_effect_reports_before_and_after():
    """Catches outliers counted on rows the row steps drop, or not counted at all."""
    plan = CleaningPlan(outliers=OutlierRule("iqr", "clip", 1.5))
    summary = preview_effect(frame(), plan, "y", ["x", "c", "t"], ROLES)
    assert (summary.rows_before, summary.rows_after) == (6, 4)
    assert summary.columns_before == summary.columns_after == 4
    assert summary.missing_before == 5
    assert summary.missing_after == 0
    assert summary.outlier_rows == 0, "the only extreme x (100) is in the row without a target, which is dropped"
    kept = frame().assign(y=["p", "q", "p", "p", "q", "q"])  # now the row with x = 100 stays
    summary = preview_effect(kept, plan, "y", ["x", "c", "t"], ROLES)
    assert summary.outlier_rows == 1
    assert summary.outlier_note.startswith("About 1 rows have an outlier that would be clipped")
    assert "the bounds come from the training split only" in summary.outlier_note


def test_describe_reads_like_steps():
    plan = CleaningPlan(drop_columns=["t"], type_fixes={"x": "number"}, outliers=OutlierRule())
    steps = plan.describe(ROLES, "y")
    assert steps[0] == "Convert 'x' to number."
    assert any("Drop exact duplicate rows" in s for s in steps)
    assert any("learned on the training split" in s for s in steps)


def test_duplicated_mask_large_matches_pandas():
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"a": rng.integers(0, 50, 60_000), "b": rng.choice(["x", "y"], 60_000)})
    assert duplicated_mask(big).tolist() == big.duplicated().tolist()
