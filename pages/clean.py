"""Step 3 — Clean: build the cleaning plan and see its effect before training."""

import streamlit as st

from core import charts
from core.cleaning import CleaningPlan, preview_effect
from core.errors import DashboardError
from core.plan_defaults import RULED_ROLES
from core.schema import Role
from ui import charts_view, guide_views, journey, state
from ui import clean_views as views
from ui.text import md_escape

st.title("3. Clean")
guide_views.step_note("clean")
journey.require("clean")
ds, choice, roles = state.dataset(), state.target(), state.roles()
plan = state.plan() or CleaningPlan()
features = choice.features
st.write(
    "Build a cleaning plan. Nothing is changed in your data now: the plan is a list of steps applied when models are trained, and steps that learn from the data are fitted on the training split only."
)

st.subheader("Rows", anchor=False)
drop_dups = views.row_steps(plan, choice.target is not None)

st.subheader("Columns", anchor=False)
fixes, column_rules, drops = views.column_table(plan, features, roles, ds.frame)
after_roles = CleaningPlan(type_fixes=fixes).roles_after(roles)
present = [r for r in RULED_ROLES if any(after_roles[c] == r for c in features if c not in drops)]

st.subheader("Missing values", anchor=False)
role_rules = views.role_rules(plan, present)

st.subheader("Outliers", anchor=False)
numeric = [c for c in features if after_roles[c] == Role.NUMERIC and c not in drops]
outliers, outlier_cols = views.outlier_controls(plan, numeric)

new_plan = CleaningPlan(drop_dups, drops, fixes, role_rules, column_rules, outliers, outlier_cols)
try:
    new_plan.validate(list(ds.frame.columns), roles)
except DashboardError as err:
    st.error(md_escape(err.user_message), icon=":material/error:")
    st.stop()

st.subheader("Effect", anchor=False)
token = (state.version(), new_plan.to_json(), choice.target, tuple(features))
with st.spinner("Applying the plan to preview it…"):
    summary = state.memo(
        "clean_preview", token, lambda: preview_effect(ds.frame, new_plan, choice.target, features, roles)
    )
cols = st.columns(4)
cols[0].metric(
    "Rows", f"{summary.rows_after:,}", delta=f"{summary.rows_after - summary.rows_before:,}", delta_color="off"
)
cols[1].metric(
    "Columns",
    f"{summary.columns_after:,}",
    delta=f"{summary.columns_after - summary.columns_before:,}",
    delta_color="off",
)
cols[2].metric(
    "Missing cells",
    f"{summary.missing_after:,}",
    delta=f"{summary.missing_after - summary.missing_before:,}",
    delta_color="inverse",
)
cols[3].metric("Rows with outliers", f"{summary.outlier_rows:,}")
report = summary.row_report
new_plan.confirmed_row_loss = views.row_effects(plan, report, choice.target)
state.set_plan(new_plan)
for note in [*report.notes, *([summary.outlier_note] if summary.outlier_note else [])]:
    st.info(md_escape(note), icon=":material/info:")
charts_view.show(
    charts.before_after(
        (summary.rows_before, summary.rows_after),
        (summary.columns_before, summary.columns_after),
        (summary.missing_before, summary.missing_after),
    ),
    key="clean_chart",
)

st.subheader("The plan, step by step", anchor=False)
steps = new_plan.describe({c: after_roles[c] for c in features if c not in drops}, choice.target)
st.markdown("\n".join(f"{i}. {md_escape(s)}" for i, s in enumerate(steps, start=1)))
st.download_button(
    "Download the plan (JSON)",
    new_plan.to_json(),
    file_name="cleaning_plan.json",
    mime="application/json",
    key="clean_download",
    icon=":material/download:",
)
journey.next_step("clean")
