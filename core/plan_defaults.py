"""What the Clean page starts from: the missing-value strategies each role is offered, the rule it shows
first, and the plan it saves when the person changes nothing.

One definition for the page (``ui/clean_views.py``) and for anything that plans without it (the one-click
demo, ``core/demo.py``): if the two disagreed, a visit to the Clean page would replace the plan and clear
the models trained with it.
"""

from __future__ import annotations

from dataclasses import replace

from core.cleaning import MISSING_STRATEGIES, NUMERIC_ONLY, CleaningPlan, MissingRule
from core.schema import Role

#: The roles whose gaps the Clean page sets one rule for, in the order it shows them.
RULED_ROLES = (Role.NUMERIC, Role.CATEGORICAL, Role.TEXT, Role.DATETIME)


def strategies_for(role: Role) -> list[str]:
    """Missing-value strategies that make sense for a role (mean and median only for numbers)."""
    return [s for s in MISSING_STRATEGIES if role == Role.NUMERIC or s not in NUMERIC_ONLY]


def role_strategies(role: Role) -> list[str]:
    """The strategies the page offers for all of a role's columns (dropping every column is per column)."""
    return [s for s in strategies_for(role) if s != "drop_column"]


def default_fill(role: Role, current: MissingRule) -> str:
    """The fill box's first text for a constant fill: the plan's own value, else ``0`` or ``missing``."""
    shown = "" if current.fill_value is None else str(current.fill_value)
    return shown or ("0" if role == Role.NUMERIC else "missing")


def number_or_text(text: str) -> str | float:
    """A typed fill value: the number it reads as, else the text."""
    try:
        return float(text)
    except ValueError:
        return text


def fill_value(role: Role, text: str) -> str | float:
    """The fill box's text as the rule keeps it: a number for numeric columns when it reads as one."""
    return number_or_text(text) if role == Role.NUMERIC else text


def offered_rule(plan: CleaningPlan, role: Role) -> MissingRule:
    """The rule the page shows first for ``role``: the plan's, when the role is offered it, else the first offered."""
    current = plan.missing_by_role.get(role.value, MissingRule("most_frequent"))
    offered = role_strategies(role)
    strategy = current.strategy if current.strategy in offered else offered[0]
    fill = fill_value(role, default_fill(role, current)) if strategy == "constant" else None
    return MissingRule(strategy, fill)


def default_plan(features: list[str], roles: dict[str, Role]) -> CleaningPlan:
    """The plan the Clean page saves when nothing is changed there, for these features."""
    plan = CleaningPlan()
    present = [role for role in RULED_ROLES if any(roles.get(c) == role for c in features)]
    return replace(plan, missing_by_role={**plan.missing_by_role, **{r.value: offered_rule(plan, r) for r in present}})
