"""Present — a finished run as slides for a projector, shown here and downloadable as one HTML file."""

import streamlit as st

from core.training import best_model
from ui import journey, reveal_views, state
from ui import present_views as views

st.title("Present")
if journey.locked_reason("present") is not None:
    journey.require("results")  # the same reason (slides need a trained model) with a link to the missing step
job = state.job()
if not reveal_views.winner_gate(job):
    st.stop()  # the slides name the winner: the class guesses first
request, trained = job.request, state.trained_models()
if job.snapshot().status == "running":
    st.info("Training is still running; the slides show the models finished so far.", icon=":material/hourglass_top:")

best = best_model(trained, request.task, request.metric) or trained[0]
names = [m.name for m in trained]
chosen = state.kept("present_model", best.name, token=id(job), allowed=names)
name = st.selectbox(
    "Model",
    names,
    index=names.index(chosen),
    key="present_model",
    help="The chosen model (the leaderboard's best) is selected first.",
)
state.keep("present_model", name, token=id(job))
model = next(m for m in trained if m.name == name)

deck, file_name = views.deck(model, request)
views.notes(state.test_scores(name) is not None, views.finished_explanation(name) is not None)
# st.iframe is this Streamlit's components.v1.html (deprecated): the deck runs its own keys inside the frame.
st.iframe(deck, height=views.DECK_HEIGHT, alt="The slides: click them, then use the arrow keys")
st.download_button(
    "Download the deck (HTML)",
    data=deck,
    file_name=file_name,
    mime="text/html",
    icon=":material/download:",
    key="present_download",
    on_click="ignore",
)
