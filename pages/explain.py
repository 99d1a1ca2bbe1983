"""Step 7 — Explain: why the model predicts what it does, in your own columns."""

import streamlit as st

from core.training import best_model
from ui import explain_views as views
from ui import guide_views, journey, state, train_views, words_views

st.title("7. Explain")
guide_views.step_note("explain")
journey.require("explain")
job = state.job()
request, trained = job.request, state.trained_models()
best = best_model(trained, request.task, request.metric) or trained[0]
names = [m.name for m in trained]
name = st.selectbox("Model", names, index=names.index(best.name), key="explain_model")
model = next(m for m in trained if m.name == name)
train_views.budget_note(request, [model])
st.write(
    "SHAP values show how much each of your columns pushed each prediction up or down, measured against the "
    "model's mean prediction over training rows (each view says which)."
)

explain_job = state.explain_job(model.name)
if explain_job is None or explain_job.snapshot().status in ("failed",):
    views.budget_and_run(model, request)
    explain_job = state.explain_job(model.name)
if explain_job is not None and views.progress(explain_job):
    views.show(explain_job.snapshot().results[0], model, request)
    with st.expander("Explain again with other settings"):
        views.budget_and_run(model, request, prefix="explain_again")
words_views.section(model, request)  # a text feature: the words that pushed the predictions
journey.next_step("explain")
