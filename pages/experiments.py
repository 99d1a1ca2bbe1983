"""Step 9 — Experiments: every recorded run (across app restarts), compared, reloaded.

Never locked: the runs live in the experiment store (MLflow), not in the session.
"""

import streamlit as st

from ui import experiments_views as views
from ui import guide_views

st.title("9. Experiments")
guide_views.step_note("experiments")
uri = views.tracking_uri()
views.store_info(uri)
on_its_way = views.run_on_its_way()
runs = views.load_runs(uri)
if runs is None:
    st.stop()
if runs.empty and on_its_way:  # the note above says the first run is coming: no "train some models"
    st.stop()
if runs.empty:
    st.info(
        "No runs recorded yet. Every training run is recorded here automatically: "
        "train some models (steps 1–5) and come back.",
        icon=":material/history:",
    )
    st.page_link("pages/data.py", label="Start with Data", icon=":material/upload_file:")
    st.stop()

st.subheader("Past runs", anchor=False)
shown = views.filters(runs)
if shown.empty:
    st.info("No run matches these filters.", icon=":material/filter_alt_off:")
    st.stop()
views.runs_table(shown)

st.subheader("Compare", anchor=False)
ticked = views.pick_runs(shown)
views.mixed_note(shown, ticked)
views.compare(uri, ticked)

st.subheader("Reload a model", anchor=False)
views.reload(uri, shown, ticked)
