"""Each column's fill is decided once (CleaningPlan.fill_rule): the Clean page's recorded steps and the
model's pipeline agree, including columns whose gaps drop rows and categories given a numeric rule."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer

from core.cleaning import CleaningPlan, MissingRule, learned_steps
from core.features import build_preprocessor
from core.schema import Role

ROLES = {
    "income": Role.NUMERIC,
    "age": Role.NUMERIC,
    "rooms": Role.NUMERIC,
    "city": Role.CATEGORICAL,
    "plan": Role.CATEGORICAL,
    "joined": Role.DATETIME,
    "notes": Role.TEXT,
}
FEATURES = list(ROLES)


def imputers(plan: CleaningPlan) -> dict[str, tuple[str, object]]:
    """Column -> (strategy, fill value) of the imputer the built pipeline fills it with."""
    columns = dict(build_preprocessor(plan, ROLES, FEATURES))["columns"]
    assert isinstance(columns, ColumnTransformer)
    found = {}
    for _, branch, names in columns.transformers:
        steps = dict(branch.steps)
        if "impute" in steps:
            imputer = steps["impute"]
            found.update({n: (imputer.strategy, imputer.fill_value) for n in names})
    return found


def recorded(plan: CleaningPlan) -> dict[str, str]:
    return {c: s.strategy for s in learned_steps(plan, ROLES, FEATURES) if s.kind == "impute" for c in s.columns}


def test_the_pipeline_fills_each_column_as_the_recorded_steps_say():
    plan = CleaningPlan(
        missing_by_role={Role.NUMERIC.value: MissingRule("mean"), Role.CATEGORICAL.value: MissingRule("most_frequent")},
        missing_by_column={
            "age": MissingRule("drop_rows"),  # gappy training rows dropped; new rows filled by the role's rule
            "rooms": MissingRule("constant", 3),
            "plan": MissingRule("median"),  # a category has no median: its most frequent value
        },
    )
    built, steps = imputers(plan), recorded(plan)
    numeric_and_categories = {c: strategy for c, (strategy, _) in built.items() if c in steps}
    assert numeric_and_categories == {c: s for c, s in steps.items() if c in built}
    assert steps["age"] == built["age"][0] == "mean"
    assert built["rooms"] == ("constant", 3.0)
    assert steps["plan"] == built["plan"][0] == "most_frequent"


def test_a_column_whose_gaps_drop_rows_falls_back_when_its_role_drops_rows_too():
    plan = CleaningPlan(missing_by_role={Role.NUMERIC.value: MissingRule("drop_rows")})
    steps, built = recorded(plan), imputers(plan)
    assert steps["income"] == built["income"][0] == "median"
    assert steps["joined"] == "median" and steps["notes"] == "constant"  # date parts' median, empty text
