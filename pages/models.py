"""Step 4 — Models: the split, the models and their settings, then train."""

import streamlit as st

from core import registry, run_memory
from core.cleaning import apply_row_steps
from core.errors import DashboardError
from core.training import TrainingJob, TrainSetup, make_request, suggested_setup, with_log_target
from ui import experiments_views, guide_views, hardware_views, journey, project_views, state, time_views, tune_views
from ui import model_views as views
from ui.text import md_escape

st.title("4. Models")
guide_views.step_note("models")
journey.require("models")
project_views.note()
ds, choice, roles, plan = state.dataset(), state.target(), state.roles(), state.plan()
roles_after = plan.roles_after(roles)
token = (state.version(), plan.to_json(), choice.target, tuple(choice.features))
rows, row_report = state.memo(
    "models_rows", token, lambda: apply_row_steps(ds.frame, plan, choice.target, choice.features)
)
y = rows[choice.target] if choice.target is not None else None
setup = state.train_setup() or suggested_setup(choice.task, y)
unconfirmed = views.row_loss_gate(plan, row_report)
refused = views.class_limit_gate(choice.task, y)

st.subheader("Split", anchor=False)
own = views.split_controls(state.own_split(setup), choice.task, views.date_features(choice.features, roles_after), rows)
split_chart = st.container()  # drawn after the time section, which may order the split
timed = time_views.time_section(setup.options.time, own, ds.frame, plan, choice, rows)
split = timed.split
with split_chart:
    splittable = views.split_preview(timed.rows, choice.target, choice.task, split)

st.subheader("Models", anchor=False)
text = views.text_features(choice.features, roles_after)
picked = views.model_picker(
    choice.task,
    [m.key for m in setup.models] or registry.recommended(choice.task, len(rows)),
    len(rows),
    bool(text),
    timed=timed.setup is not None,  # networks over the last rows need the rows' order
)
forms = {m.key: m.params for m in setup.models}
for key in picked:
    spec = registry.get_spec(key)
    if not spec.params:
        forms[key] = {}
        continue
    with st.expander(f"{spec.label} settings", icon=":material/settings:"):
        params = views.param_form(spec, forms.get(key) or spec.defaults(), f"models_{key}")
        if spec.raw_text:  # words → embedding → pooling → dense: its own layer table, not the dense builder's
            views.text_network_table(params, choice, rows, plan, roles)
        elif spec.needs_tensorflow:
            n_features = timed.feature_count(plan, roles, choice.features, setup.options, token)
            n_classes = rows[choice.target].nunique() if choice.task.is_classification else 1
            params["layers"] = views.network_builder(
                tuple((forms.get(key) or {}).get("layers", spec.defaults()["layers"])),
                n_features,
                choice.task,
                n_classes,
                float(params.get("l2", 0.0)),
                f"models_{key}",
                window=params.get("window") if spec.needs_time_order else None,
            )
        forms[key] = params
hardware_views.keras_note(picked)  # GPU or CPU: asked of TensorFlow on a worker, never here

st.subheader("Options", anchor=False)
imbalance, metric = views.imbalance_and_ranking(setup, choice.task, y)
options = views.feature_options(setup.options, views.numeric_features(choice.features, roles_after), choice.task, y)
options = timed.options(options)

time_budget = views.budget_choice(setup.budget)
runs = views.runs_for(picked, forms)
problems = []
for run in runs:
    try:
        registry.get_spec(run.key).validate(run.params)
    except DashboardError as err:
        problems.append(err.user_message)
for problem in problems:
    st.error(md_escape(problem))
new_setup = TrainSetup(split, runs, options, imbalance, metric, time_budget)
state.set_train_setup(new_setup)
state.set_own_split(split, own)  # time features off again: the person's own split comes back
ready = runs and not problems and not unconfirmed and not refused and splittable and timed.ok
request_token = (token, split, options, imbalance, metric, choice.positive, runs)


def request():
    return state.memo(
        "models_request",
        request_token,
        lambda: make_request(
            ds.frame, choice.target, choice.task, choice.features, roles, plan, new_setup, positive=choice.positive
        ),
    )


planned = None
if ready:
    st.subheader("Time", anchor=False)
    try:
        planned = views.budget_plan(request(), time_budget, (token, split, options, imbalance, choice.positive))
    except DashboardError as err:
        st.error(md_escape(err.user_message))


if st.toggle(
    "Tune a model's settings automatically",
    key="models_tune_on",
    value=state.tuning_job() is not None,
    help="A randomized search over the model's settings, cross-validated on the training split.",
):
    tune_views.tune_section(runs, request)

twins = len(with_log_target(runs, choice.task, options)) - len(runs)
kept_out = sum(m.left_out for m in planned.models) if planned is not None else 0
label = (
    "Choose models to train"
    if not runs
    else f"Train {len(runs)} model{'s' if len(runs) != 1 else ''}"
    + (f" + {twins} on the log of the target" if twins else "")
    + (" + baseline" if choice.target and "baseline" not in picked else "")
    + (f" ({kept_out} left out by the time budget)" if kept_out else "")
)
if st.button(
    label,
    type="primary",
    disabled=not ready,
    key="models_train",
    icon=":material/play_arrow:",
):
    try:
        asked = request()
        job = TrainingJob(planned.apply(asked) if planned else asked, after_run=experiments_views.recorder())
        run_memory.check(job.request)  # over the session's memory limit: refused, with the estimate and a fix
    except DashboardError as err:
        st.error(md_escape(err.user_message))
        st.stop()
    state.set_job(job.start(instead_of=state.job()))  # a run of this session still queued: its place is kept
    st.switch_page("pages/train.py")
project_views.save_button(new_setup)
if state.job() is not None:
    journey.next_step("models")
