"""Step 8 — Predict: use a model on one row or a whole file, and take it out of the app (export, code, serve)."""

import streamlit as st

from ui import guide_views, portable_views, state
from ui import predict_views as views

VIEWS = ["One row", "A whole file", "Export", "Portable", "Code", "Serve"]

st.title("8. Predict")
guide_views.step_note("predict")
with st.expander("Load a model bundle exported earlier", icon=":material/upload:"):
    views.bundle_uploader()
views.bundle_error()
models = state.usable_models()
if not models:
    st.info(
        "No model yet. Train one (steps 1–5), or load a model bundle exported from this app above.",
        icon=":material/info:",
    )
    st.stop()

label = views.model_picker(models)
usable = models[label]
views.describe(usable)

view = st.segmented_control("Use it", VIEWS, default=state.kept("predict_view", VIEWS[0]), key="predict_view")
state.keep("predict_view", view)
if view == "One row":
    row = views.row_form(usable, label)
    if row is not None:
        views.show_row_answer(usable, row, label)
elif view == "A whole file":
    views.batch(usable, label)
elif view == "Export":
    views.export(usable)
elif view == "Portable":
    portable_views.show(usable)
elif view == "Code":
    views.code(usable)
elif view == "Serve":
    views.serve(usable)
else:
    st.caption("Pick what to do with the model above.")
