"""Controls of the Clean page: each returns part of a :class:`CleaningPlan`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.cleaning import (
    DEFAULT_THRESHOLD,
    MISSING_STRATEGIES,
    OUTLIER_ACTIONS,
    OUTLIER_METHODS,
    TYPE_FIXES,
    CleaningPlan,
    MissingRule,
    OutlierRule,
    RowReport,
    repeat_note,
    row_losses,
)
from core.plan_defaults import default_fill, fill_value, number_or_text, offered_rule, role_strategies
from core.schema import Role
from ui import pickers, state
from ui.text import md_escape

ROLE_DEFAULT = "(role default)"


def row_steps(plan: CleaningPlan, has_target: bool) -> bool:
    """Whether to drop exact duplicate rows; rows without a target are always dropped (said so)."""
    dups = st.checkbox(
        "Drop exact duplicate rows",
        value=plan.drop_duplicates,
        key=f"clean_{state.version()}_dups",
        help="Rows identical to an earlier row in every column of the file (including columns you do not use) are "
        "removed before the split, so the same row cannot be in both training and test data. Rows that only share "
        "their values in the chosen features are kept.",
    )
    if has_target:
        st.caption(
            "Rows with no target value are always dropped: a model can neither learn from nor be scored on them."
        )
    return dups


def role_rules(plan: CleaningPlan, roles_present: list[Role]) -> dict[str, MissingRule]:
    """One missing-value rule per role among the features."""
    rules = dict(plan.missing_by_role)
    cols = st.columns(max(1, len(roles_present)))
    for col, role in zip(cols, roles_present, strict=False):
        current = plan.missing_by_role.get(role.value, MissingRule("most_frequent"))
        options = role_strategies(role)
        with col:
            strategy = st.selectbox(
                f"Missing {role.value} values",
                options,
                index=options.index(offered_rule(plan, role).strategy),
                format_func=MISSING_STRATEGIES.get,
                key=f"clean_{state.version()}_role_{role.value}",
            )
            fill = None
            if strategy == "constant":
                text = st.text_input(
                    "Fill value",
                    value=default_fill(role, current),
                    key=f"clean_{state.version()}_fill_{role.value}",
                )
                fill = fill_value(role, text)
        rules[role.value] = MissingRule(strategy, fill)
    return rules


def column_table(
    plan: CleaningPlan, features: list[str], roles: dict[str, Role], frame: pd.DataFrame
) -> tuple[dict, dict, list]:
    """Per-column settings: type fix, missing-value rule, fill value, drop."""
    missing = frame[features].isna().mean() * 100
    table = pd.DataFrame(
        {
            "column": features,
            "role": [roles[c].value for c in features],
            "missing %": [round(float(missing[c]), 1) for c in features],
            "convert to": [plan.type_fixes.get(c, "") for c in features],
            "missing values": [
                plan.missing_by_column[c].strategy if c in plan.missing_by_column else ROLE_DEFAULT for c in features
            ],
            "fill value": [
                ""
                if c not in plan.missing_by_column or plan.missing_by_column[c].fill_value is None
                else str(plan.missing_by_column[c].fill_value)
                for c in features
            ],
            "drop": [c in plan.drop_columns for c in features],
        }
    )
    edited = st.data_editor(
        table,
        key=f"clean_{state.version()}_columns",
        hide_index=True,
        disabled=["column", "role", "missing %"],
        column_config={
            "convert to": st.column_config.SelectboxColumn(
                "convert to",
                options=["", *TYPE_FIXES],
                help="to number parses text like '1,234.5', '$12', '12%'; to date parses dates; to category / to text change how the column is used.",
            ),
            "missing values": st.column_config.SelectboxColumn(
                "missing values",
                options=[ROLE_DEFAULT, *MISSING_STRATEGIES],
                help="; ".join(f"{k}: {v}" for k, v in MISSING_STRATEGIES.items()),
            ),
            "fill value": st.column_config.TextColumn("fill value", help="Used when 'missing values' is 'constant'."),
            "drop": st.column_config.CheckboxColumn("drop", help="Leave this column out."),
            "missing %": st.column_config.NumberColumn("missing %", format="%.1f"),
        },
        height=min(500, 38 + 35 * len(table)),
    )
    fixes = {r["column"]: r["convert to"] for _, r in edited.iterrows() if r["convert to"]}
    rules = {
        r["column"]: MissingRule(
            r["missing values"], number_or_text(r["fill value"]) if r["missing values"] == "constant" else None
        )
        for _, r in edited.iterrows()
        if r["missing values"] and r["missing values"] != ROLE_DEFAULT
    }
    drops = [r["column"] for _, r in edited.iterrows() if r["drop"]]
    return fixes, rules, drops


def outlier_controls(plan: CleaningPlan, numeric: list[str]) -> tuple[OutlierRule | None, list[str]]:
    key = f"clean_{state.version()}_out"
    if not numeric:
        st.caption("No numeric features, so there is nothing to check for outliers.")
        return None, []
    on = st.toggle("Handle outliers in numeric columns", value=plan.outliers is not None, key=f"{key}_on")
    if not on:
        return None, []
    current = plan.outliers or OutlierRule()
    left, mid, right = st.columns(3)
    method = left.radio(
        "Find outliers by",
        list(OUTLIER_METHODS),
        index=list(OUTLIER_METHODS).index(current.method),
        format_func=OUTLIER_METHODS.get,
        key=f"{key}_method",
    )
    action = mid.radio(
        "Then",
        list(OUTLIER_ACTIONS),
        index=list(OUTLIER_ACTIONS).index(current.action),
        format_func=OUTLIER_ACTIONS.get,
        key=f"{key}_action",
    )
    start = current.threshold if current.method == method else DEFAULT_THRESHOLD[method]
    threshold = right.number_input(
        "k (how far is too far)", min_value=0.5, max_value=20.0, value=float(start), step=0.5, key=f"{key}_k_{method}"
    )
    cols = st.multiselect(
        "Only these columns (empty: all numeric features)",
        pickers.bounded(numeric, key=f"{key}_cols", keep=plan.outlier_columns),
        default=[c for c in plan.outlier_columns if c in numeric],
        key=f"{key}_cols",
    )
    st.caption(
        "Bounds are learned from the training split only when the model is trained; removal never touches validation or test rows."
    )
    return OutlierRule(method, action, float(threshold)), cols


def row_effects(plan: CleaningPlan, report: RowReport, target: str | None) -> int:
    """What the row steps drop, in red where a step loses many rows, with the confirmation.

    Returns the number of dropped rows the person confirmed (0 when nothing needs confirming
    or the box is not ticked).
    """
    st.caption(
        f"Exact duplicate rows dropped: {report.duplicates_dropped:,} · rows without target dropped: "
        f"{report.missing_target_dropped:,} · rows dropped for missing values: {report.missing_value_rows_dropped:,}."
    )
    note = repeat_note(report, target)
    if note:
        st.info(md_escape(note), icon=":material/content_copy:")
    losses = row_losses(report)
    if not losses:
        return 0
    for loss in losses:
        st.error(md_escape(loss.message(report.rows_before)), icon=":material/warning:")
    confirmed = st.checkbox(
        f"Yes, drop these {report.rows_dropped:,} rows: I checked that the step is right for this table",
        value=plan.confirmed_row_loss >= report.rows_dropped,
        key=f"clean_{state.version()}_confirm_loss_{report.rows_dropped}",  # a new count asks afresh
        help="Otherwise untick the step above (or change the column's missing-value rule). Models cannot be trained until you decide.",
    )
    return report.rows_dropped if confirmed else 0
