"""core.schema: inferred roles and overrides."""

import numpy as np
import pandas as pd
import pytest

from core.schema import Role, effective_roles, infer_role, infer_roles


def s(values, name="col"):
    return pd.Series(values, name=name)


@pytest.mark.parametrize(
    ("series", "role"),
    [
        (s([1.5, 2.25, 3.0, 4.75, 9.5]), Role.NUMERIC),
        (s(["red", "blue", "red", "green"] * 10), Role.CATEGORICAL),
        (s([True, False, True]), Role.CATEGORICAL),
        (s(["yes", "no", "yes", "no"]), Role.CATEGORICAL),
        (s([0, 1, 1, 0, 1]), Role.CATEGORICAL),
        (s(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])), Role.DATETIME),
        (s([np.nan, np.nan, np.nan]), Role.EMPTY),
        (s(["same"] * 30), Role.CONSTANT),
        (s(range(100), name="row"), Role.ID),
        (s(np.random.default_rng(0).permutation(100), name="customer_id"), Role.ID),
        (s([f"C-{i:05d}" for i in range(100)], name="ref"), Role.ID),
        (s([f"this is message number {i} with several words" for i in range(50)], name="message"), Role.TEXT),
    ],
    ids=[
        "float",
        "labels",
        "bool",
        "yesno",
        "binary-int",
        "dates",
        "empty",
        "constant",
        "row-number",
        "id-name",
        "codes",
        "text",
    ],
)
def test_infer_role(series, role):
    guess = infer_role(series)
    assert guess.role == role, guess.reason
    assert guess.reason


def test_a_shuffled_unique_integer_without_an_id_name_stays_numeric():
    values = np.random.default_rng(1).permutation(np.arange(1000, 1100))
    assert infer_role(s(values, name="price")).role == Role.NUMERIC


def test_infer_roles_samples_big_tables():
    frame = pd.DataFrame({"x": np.arange(200_000) % 7, "label": ["a", "b"] * 100_000})
    roles = infer_roles(frame, sample_rows=1_000)
    assert roles["x"].role == Role.NUMERIC
    assert roles["label"].role == Role.CATEGORICAL


def test_overrides_apply_and_unknown_columns_are_ignored():
    guesses = infer_roles(pd.DataFrame({"zip": [1000 + i for i in range(30)], "v": [1.5] * 29 + [2.5]}))
    roles = effective_roles(guesses, {"zip": "categorical", "gone": "numeric"})
    assert roles == {"zip": Role.CATEGORICAL, "v": Role.NUMERIC} or roles["zip"] == Role.CATEGORICAL
    assert "gone" not in roles


def test_usable_roles():
    assert {r for r in Role if r.usable} == {Role.NUMERIC, Role.CATEGORICAL, Role.TEXT, Role.DATETIME}


# --------------------------------------------------------------------------- near misses explained


def test_dates_that_are_almost_all_readable_say_which_values_are_not():
    rng = np.random.default_rng(0)
    days = pd.date_range("2021-01-01", periods=85, freq="D")
    written = [d.strftime(rng.choice(["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y"])) for d in days]
    values = written + ["2021-02-30"] * 8 + ["soon"] * 7
    guess = infer_role(s(list(rng.permutation(values)), name="signup"))
    assert "dates in 85% of the values" in guess.reason
    assert "15 could not be read" in guess.reason and "'2021-02-30'" in guess.reason and "'soon'" in guess.reason
    assert "to date" in guess.reason


def test_numbers_mixed_with_markers_say_which_values_are_not_numbers():
    rng = np.random.default_rng(1)
    values = [f"{v:.2f}" for v in rng.uniform(10, 99, 90)] + ["unknown"] * 6 + ["tbd"] * 4
    guess = infer_role(s(list(rng.permutation(values)), name="price"))
    assert "numbers in 90% of the values" in guess.reason
    assert "'unknown'" in guess.reason and "'tbd'" in guess.reason and "are not numbers" in guess.reason
    assert "missing" in guess.reason and "to number" in guess.reason


@pytest.mark.parametrize(
    "values",
    [
        ["red", "blue", "green"] * 20,  # labels
        [f"C-{i:05d}" for i in range(60)],  # codes
        [str(i) for i in range(30)] + ["a", "b"] * 15,  # half numbers: not a near miss
    ],
)
def test_columns_far_from_numbers_or_dates_get_no_such_explanation(values):
    reason = infer_role(s(values)).reason
    assert "numbers in" not in reason and "dates in" not in reason
