"""The Models page's "Time and sequences" section: features from earlier rows, and the split they need.

The person chooses how rows follow one another (a date or number column, or the rows' order as
loaded), an optional entity (one sequence per machine, store, region: any column but numbers with
fractions, ID-like ones too) and what to look back on. The section returns the :class:`core.time_features.TimeSetup`, the
split ordered as it needs (:func:`core.time_features.split_for`) and the cleaned rows with the
order and entity columns, and shows a preview of the new columns on one entity's first training
rows, computed with the same transformer fitted on the training rows. Everything is computed in
``core``; widgets are keyed ``models_time_…``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from core.cleaning import CleaningPlan, apply_row_steps
from core.errors import DashboardError
from core.explain.result import features_importance
from core.features import FeatureOptions, count_features, pipeline_inputs
from core.guards.time_leak import future_reads
from core.numbers import format_number
from core.schema import Role
from core.split import SplitConfig, make_split
from core.target import TargetChoice
from core.teaching.glossary import tooltip
from core.time_features import (
    CALENDAR_PARTS,
    DEFAULT_SOURCE_COUNT,
    MAX_SOURCE_COLUMNS,
    SHUFFLED_LEAK,
    STATS,
    TimeSetup,
    preview,
    split_for,
)
from core.time_order import entity_columns, entity_note
from ui import pickers, state
from ui.text import md_escape

#: Lags and windows the pickers offer (a setup read from a project keeps its own too).
LAG_CHOICES = (1, 2, 3, 7, 14, 28)
WINDOW_CHOICES = (3, 7, 14, 30)
#: Rows of one entity the preview shows, and entities its picker lists.
PREVIEW_ROWS = 10
PREVIEW_ENTITIES = 50


@dataclass(frozen=True)
class TimeChoice:
    """What the section decided: the setup (None: off), the split it needs, the rows, and whether it can train."""

    setup: TimeSetup | None
    split: SplitConfig
    rows: pd.DataFrame
    ok: bool = True

    def options(self, options: FeatureOptions) -> FeatureOptions:
        """``options`` with these time features."""
        return replace(options, time=self.setup)

    def feature_count(
        self, plan: CleaningPlan, roles: dict[str, Role], features: list[str], options: FeatureOptions, token: object
    ) -> int:
        """About how many columns a model reads, the new time features included (kept per ``token``)."""
        counted = self.options(options)
        return state.memo(
            "models_nfeat", (token, counted), lambda: count_features(plan, roles, features, self.rows, counted)
        )


def time_section(
    current: TimeSetup | None,
    split: SplitConfig,
    frame: pd.DataFrame,
    plan: CleaningPlan,
    choice: TargetChoice,
    rows: pd.DataFrame,
) -> TimeChoice:
    """Draw the section; ``rows`` are the cleaned rows of the features (used as they are when it is off)."""
    st.subheader("Time and sequences", anchor=False)
    on = st.toggle(
        "Add features from earlier rows (lags, moving averages)",
        value=current is not None,
        key="models_time_on",
        help=tooltip(
            "For data that arrives over time: each row also gets values of the rows before it (a lag), "
            "moving averages of the last rows and the change since the previous row, within its entity.",
            slug="lag",
        ),
    )
    if not on:
        if not split.ordered:
            st.caption(md_escape(SHUFFLED_LEAK))
        return TimeChoice(None, split, rows)
    roles = plan.roles_after(state.roles())
    setup = _setup_widgets(current, frame, roles, choice)
    if setup is None:
        return TimeChoice(None, split, rows, ok=False)
    ordered = split_for(setup, split)
    st.caption(md_escape(_split_words(setup)))
    options = FeatureOptions(time=setup)
    token = (state.version(), plan.to_json(), choice.target, tuple(choice.features), setup.key_columns())
    keyed = state.memo(
        "models_time_rows",
        token,
        lambda: apply_row_steps(frame, plan, choice.target, pipeline_inputs(choice.features, options))[0],
    )
    ok = _preview(keyed, setup, ordered, choice, setup.dated(roles))
    return TimeChoice(setup, ordered, keyed, ok)


def _setup_widgets(
    current: TimeSetup | None, frame: pd.DataFrame, roles: dict[str, Role], choice: TargetChoice
) -> TimeSetup | None:
    """The widgets, and the setup they make (None, with the reason shown, when it cannot be built)."""
    columns = [c for c in frame.columns if c != choice.target]
    dates = [c for c in columns if roles.get(c) == Role.DATETIME]
    numbers = [c for c in columns if roles.get(c) == Role.NUMERIC]
    start = current or TimeSetup(order=dates[0] if dates else None)
    left, right = st.columns(2)
    orders = [*dates, *numbers, None]
    order = left.selectbox(
        "Order rows by",
        orders,
        index=orders.index(start.order) if start.order in orders else 0,
        format_func=lambda c: "the rows' order as loaded" if c is None else str(c),
        key="models_time_order",
        help="The column that says when each row happened (dates, or numbers such as a cycle count). "
        "Rows with the same time keep the order they come in.",
    )
    offered = entity_columns(frame, [c for c in columns if c != order])  # and a saved choice, kept
    candidates = [c for c in columns if c in offered or (c == start.entity and c != order)]
    entities = [None, *pickers.bounded(candidates, key="models_time_entity")]
    entity = right.selectbox(
        "Entity (one sequence per value)",
        entities,
        index=entities.index(start.entity) if start.entity in entities else 0,
        format_func=lambda c: "none: all rows are one sequence" if c is None else str(c),
        key="models_time_entity",
        help=tooltip(
            "The machine, store or customer each row belongs to: a row's past is the earlier rows of the same "
            "value, and the split cuts each one's rows in time. Any column with several rows per value will "
            "do, ID-like ones too (numbers with fractions are measurements, not offered); it is a feature of "
            "the model only if it is ticked on the Target page.",
            slug="entity",
        ),
    )
    few = entity_note(frame, entity)
    if few:
        st.warning(md_escape(few), icon=":material/group_work:")
    sources = [c for c in choice.features if roles.get(c) == Role.NUMERIC and c not in (order, entity)]
    picked = st.multiselect(
        "Numeric columns to look back on",
        sources,
        default=[c for c in (start.columns if current else sources[:DEFAULT_SOURCE_COUNT]) if c in sources],
        max_selections=MAX_SOURCE_COLUMNS,
        key="models_time_columns",
        help="Each gets its lags, moving windows and change (the target itself is never read: new rows do not have it).",
    )
    cols = st.columns(4)
    lags = cols[0].multiselect(
        "Lags (rows back)", sorted({*LAG_CHOICES, *start.lags}), default=list(start.lags), key="models_time_lags",
        help=tooltip("The value this many rows earlier in the entity's sequence.", slug="lag"),
    )  # fmt: skip
    windows = cols[1].multiselect(
        "Moving windows (rows)", sorted({*WINDOW_CHOICES, *start.windows}), default=list(start.windows),
        key="models_time_windows",
        help=tooltip("Statistics of the last rows, the row itself included.", slug="moving-average"),
    )  # fmt: skip
    stats = cols[2].multiselect(
        "Window statistics", list(STATS), default=list(start.stats), key="models_time_stats",
        help="mean (a moving average), min, max and std (how much the values moved) of each window.",
    )  # fmt: skip
    changes = cols[3].checkbox(
        "Change since the previous row", value=start.changes, key="models_time_changes",
        help="The value minus the previous row's value.",
    )  # fmt: skip
    since, calendar = False, ()
    if order is not None and roles.get(order) == Role.DATETIME:
        cols = st.columns([1, 3])
        since = cols[0].checkbox(
            "Days since the previous row", value=start.since_previous, key="models_time_since",
            help="How long ago the entity's previous row was (gaps in the record show here).",
        )  # fmt: skip
        calendar = cols[1].multiselect(
            "Calendar parts of the date", list(CALENDAR_PARTS), default=list(start.calendar),
            key="models_time_calendar",
            help="Parts that repeat (weekday, month, …): unlike the year, new rows will have them too.",
        )  # fmt: skip
    try:
        return TimeSetup(order, entity, tuple(picked), tuple(lags), tuple(windows), tuple(stats), changes, since,
                         tuple(calendar))  # fmt: skip
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        return None


def _split_words(setup: TimeSetup) -> str:
    by = f"'{setup.order}'" if setup.order is not None else "the rows' order as loaded"
    per = f"each '{setup.entity}' value's" if setup.entity is not None else "the"
    return (
        f"The split follows the time order: {per} oldest rows train, the next ones validate and the newest test "
        f"(ordered by {by}; the split's own order above is set aside). Cross-validation, if on, uses expanding "
        "windows: each fold is scored on the rows right after the ones it learned from."
    )


def _preview(rows: pd.DataFrame, setup: TimeSetup, split: SplitConfig, choice: TargetChoice, dates: bool) -> bool:
    """The new columns on one entity's first training rows, and the leakage check; False when they cannot be built."""
    entity_value: Any = None
    if setup.entity is not None and setup.entity in rows:
        values = sorted(pd.unique(rows[setup.entity].dropna()), key=str)[:PREVIEW_ENTITIES]
        if values:
            entity_value = st.selectbox(
                "Preview the rows of", values, format_func=str, key="models_time_preview_entity"
            )
    token = (state.version(), id(rows), setup, split, entity_value)

    def compute():
        built = make_split(rows, choice.target, choice.task, split)
        train = rows.iloc[built.train]
        table = preview(train, setup, dates=dates, entity_value=entity_value, rows=PREVIEW_ROWS)
        return table, future_reads(train, setup, dates=dates, seed=split.seed)

    try:
        table, findings = state.memo("models_time_preview", token, compute)
    except (DashboardError, ValueError) as err:
        st.error(md_escape(getattr(err, "user_message", str(err))))
        return False
    st.dataframe(table, hide_index=True, key="models_time_preview")
    st.caption(
        f"The first {len(table)} training rows{' of this entity' if setup.entity else ''}, oldest first. Empty cells: "
        "not enough earlier rows yet; the model fills them with the training rows' median."
    )
    for finding in findings:
        st.error(md_escape(f"{finding.evidence} {finding.fix}"), icon=":material/warning:")
    return True


def explain_view(raw_names: list[str], raw_values: Any, pipeline: Any) -> None:
    """On the Explain page: how much each time feature drove the predictions (the columns above include them)."""
    step = getattr(pipeline, "named_steps", {}).get("past")
    if step is None:
        return
    table = features_importance(raw_names, raw_values, step.new_columns())
    if table.empty:
        return
    if st.toggle("Show the features made from earlier rows", key="explain_time_on"):
        st.caption(
            "Mean size of each time feature's push on the predictions; above, each is counted in the column "
            "it was made from (calendar parts and the time since the previous row: the order column)."
        )
        shown = table.assign(mean_abs=table["mean_abs"].map(format_number))
        shown = shown.rename(columns={"mean_abs": "mean |SHAP|"}).set_index("feature")
        st.table(shown, border="horizontal")  # a few rows, read as text
