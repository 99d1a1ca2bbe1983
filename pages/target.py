"""Step 2 — Target: what to predict (or none), the task, and the features."""

import streamlit as st

from core import charts
from core.errors import DashboardError
from core.target import (
    TASK_HELP,
    TargetChoice,
    Task,
    allowed_tasks,
    class_labels,
    default_features,
    detect_task,
    match_label,
    positive_class,
    positive_reason,
    suggest_target,
    target_warnings,
)
from ui import charts_view, guard_views, guide_views, journey, pickers, state
from ui.text import md_escape

st.title("2. Target")
guide_views.step_note("target")
journey.require("target")
ds, roles, guesses, saved = state.dataset(), state.roles(), state.role_guesses(), state.target()
frame, columns = ds.frame, list(ds.frame.columns)
st.write(
    "Choose the column the model should learn to predict. Choose no target to find groups of similar rows "
    "(clustering) or the most unusual rows (anomaly detection) instead."
)

NO_TARGET = "∅ no target: group similar rows or flag unusual ones"
initial = (saved.target or NO_TARGET) if saved else suggest_target(columns, roles)
key = f"target_column_{state.version()}"
options = pickers.bounded([NO_TARGET, *columns], key=key, keep=[NO_TARGET, initial])
picked = st.selectbox("Column to predict", options, index=options.index(initial) if initial in options else 0, key=key)
target = None if picked == NO_TARGET else picked
try:
    guess = detect_task(frame, target)
except DashboardError as err:
    st.error(md_escape(err.user_message))
    st.stop()
st.markdown(f"Detected task: **{guess.task.value}**, because {md_escape(guess.reason)}.")
allowed = allowed_tasks(frame, target)
start = saved.task if saved and saved.target == target and saved.task in allowed else guess.task
task = st.radio(
    "Task",
    allowed,
    index=allowed.index(start),
    format_func=lambda t: t.value,
    captions=[TASK_HELP[t] for t in allowed],
    horizontal=True,
    key=f"target_task_{state.version()}_{target}",
)

positive = None
if task == Task.BINARY:
    labels, suggested = class_labels(frame[target]), positive_class(frame[target])
    kept = match_label(labels, saved.positive) if saved and saved.target == target else None
    positive = st.selectbox(
        "Positive class: the outcome the model's probability, curves and explanations are about",
        labels,
        index=labels.index(suggested if kept is None else kept),
        format_func=str,
        key=f"target_positive_{state.version()}_{target}",
        help=md_escape(f"Suggested: '{suggested}', because {positive_reason(frame[target])}."),
    )
problems = target_warnings(frame, target, task, roles.get(target) if target else None)
for problem in problems:
    (st.error if problem.level == "error" else st.warning)(md_escape(problem.message), icon=":material/warning:")
if target is not None:
    charts_view.show(charts.target_distribution(frame[target], task), key="target_chart")

st.subheader("Features", anchor=False)
st.caption(
    "Columns the model may learn from. ID-like, constant and empty columns start unticked; tick them back if you know better."
)
defaults = default_features(
    columns, roles, target, {c: g.reason for c, g in guesses.items()}, {c: g.note for c, g in guesses.items()}, task
)
draft = state.feature_draft(target)
if draft is not None:
    ticked = set(draft)
elif saved and saved.target == target and (target is not None or saved.task == task):
    ticked = set(saved.features)
else:
    ticked = {c for c, (use, _) in defaults.items() if use}
table = {
    "use": [c in ticked for c in defaults],
    "column": list(defaults),
    "role": [roles[c].value for c in defaults],
    "why": [reason for _, reason in defaults.values()],
}
edited = st.data_editor(
    table,
    key=f"target_features_{state.version()}_{target}_{'' if target else task.name}_{hash(draft)}",
    hide_index=True,
    disabled=["column", "role", "why"],
    column_config={"use": st.column_config.CheckboxColumn("use", help="Untick to leave the column out of the model.")},
)
features = [c for c, use in zip(edited["column"], edited["use"], strict=True) if use]
st.caption(f"{len(features)} of {len(defaults)} columns selected.")

refused = any(p.level == "error" for p in problems)
if not refused:  # a target that cannot be trained has nothing to leak into
    guard_views.target_scan(frame, target, task, roles, list(defaults), features)
blocked = refused or not features
if not features:
    st.error("Tick at least one feature column.")
if st.button(
    "Use this target and these features",
    type="primary",
    disabled=blocked,
    key="target_confirm",
    icon=":material/check:",
):
    state.set_target(
        TargetChoice(
            target,
            task,
            guess.reason if task == guess.task else f"chosen by you (detected: {guess.task.value})",
            features,
            positive,
        )
    )
    st.rerun()
if saved is not None:
    st.success(
        md_escape(
            f"Saved: {saved.task.value} of '{saved.target}' from {len(saved.features)} features."
            if saved.target
            else f"Saved: {saved.task.value} on {len(saved.features)} features."
        ),
        icon=":material/check_circle:",
    )
    journey.next_step("target")
