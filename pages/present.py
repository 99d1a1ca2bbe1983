"""Present — a finished run as slides for a projector, shown here and downloadable as one HTML file."""

import streamlit as st

from ui import journey, pickers, reveal_views, state
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

model = pickers.trained_model(trained, job, key="present_model")
name = model.name

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
