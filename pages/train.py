"""Step 5 — Train: watch the run live, stop it, read the leaderboard.

The run trains on the Dask cluster (core.engine); this session keeps only its
handle (ui.state.job) and this page polls it, so clicking elsewhere and coming
back finds it still going.
"""

import streamlit as st

from ui import admission_views, experiments_views, guide_views, journey, reveal_views, state
from ui import train_views as views

st.title("5. Train")
guide_views.step_note("train")
journey.require("train")
job = state.job()
if job is None:
    st.info("No training run yet. Choose models and press Train on the Models page.")
    journey.next_step("clean")
    st.stop()

views.stale_note(job)
views.budget_note(job.request, job.snapshot().results)
running = job.snapshot().status == "running"
# After the run, the cluster checks and refits the chosen model, then the run is recorded in the experiment log.
recording = job.checking or job.after_run().pending
queued = running and job.waiting() is not None  # waiting for a free place: looked at less often


@st.fragment(run_every=(admission_views.QUEUE_EVERY_S if queued else 1.0) if running or recording else None)
def live() -> None:
    snap = job.snapshot()
    if (running and snap.status != "running") or (recording and not (job.checking or job.after_run().pending)):
        st.rerun()  # the run (or its checks and recording) ended: redraw the whole page once, then stop polling
    if queued and job.waiting() is None:
        st.rerun()  # admitted: the whole page once, then a look every second while it trains
    if admission_views.queue_view(job):  # waiting for a free place on the server (or left the queue)
        return
    views.progress_view(job, snap)
    if snap.status == "running":
        st.button(
            "Stop",
            icon=":material/stop_circle:",
            key="train_stop",
            on_click=job.stop,
            disabled=job.stopping,
            help="Stop at the next safe point and keep every model finished so far.",
        )
    views.live_view(job, snap)
    st.subheader("Leaderboard", anchor=False)
    if reveal_views.winner_gate(job):
        views.leaderboard_view(job, snap)
        views.choice_view(job, snap)
        if snap.status != "running":
            views.baseline_note(snap.results, job.request)
    views.checks_view(job, snap)
    experiments_views.recording_note(job)


live()
if not running:
    st.page_link("pages/models.py", label="Change the models and train again", icon=":material/tune:")
