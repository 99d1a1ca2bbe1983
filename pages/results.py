"""Step 6 — Results: how good is each model, can it be trusted, and the final test."""

import streamlit as st

from ui import compare_views, fairness_views, guide_views, journey, pickers, reveal_views, state, train_views
from ui import results_views as views

st.title("6. Results")
guide_views.step_note("results")
journey.require("results")
job = state.job()
if not reveal_views.winner_gate(job):
    st.stop()  # every model's scores would name the winner before the class has guessed
request, trained = job.request, state.trained_models()
train_views.stale_note(job)
train_views.budget_note(request, trained)
train_views.baseline_note(trained, request)
if job.snapshot().status == "running":
    st.info("Training is still running; models appear here as they finish.", icon=":material/hourglass_top:")

model = pickers.trained_model(trained, job, key="results_model")
views.chosen_note(model, request, trained)

st.subheader("Scores", anchor=False)
views.scores(model, request)
flagged = views.checks(model, request)
views.overfitting(model, suspicious=flagged)

st.subheader("Diagnostics", anchor=False)
views.diagnostics(model, request)

st.subheader("Compare models", anchor=False)
compare_views.compare(trained, request)

st.subheader("Fairness across groups", anchor=False)
fairness_views.section(model, request)

st.subheader("Final evaluation on the test split", anchor=False)
views.final_evaluation(model, request)

st.subheader("Report for stakeholders", anchor=False)
views.report(model, request)
st.page_link("pages/present.py", label="Present: the run as slides for a projector", icon=":material/co_present:")
journey.next_step("results")
