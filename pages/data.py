"""Step 1 — Data: load a file or a sample, see how it was read, profile it."""

import streamlit as st

from ui import charts_view, demo_views, guide_views, journey, load_views, project_views, restore_views, state
from ui.text import md_escape

st.title("1. Data")
guide_views.step_note("data")
st.write("Upload your own table or start with a bundled sample. Nothing leaves this computer.")

load_views.upload_box()
load_views.big_files_box()  # the upload limit, the memory a file needs, the server's data folder
load_views.load_error_message()
load_views.pending_choice()
restore_views.waiting()
offer = st.empty()  # the offer to restore the last run, filled last: the page is drawn before the store is read
demo_views.demo_box()  # one click: a sample through every step by itself (ui/demo_views.py)
with st.expander("…or pick a sample dataset", expanded=state.dataset() is None):
    load_views.sample_picker()
project_box = st.expander("…or open a project file", icon=":material/folder_open:")
project_said = st.empty()  # what became of the file, outside the box: seen even when the box is closed
with project_box:
    project_views.open_box(project_said)

ds = state.dataset()
if ds is None:
    restore_views.offer(offer)
    st.stop()

# The table's views (pandas, plotly) load once there is a table: the first page of a session has none.
from core import charts
from ui import data_views as views

st.header(md_escape(ds.name), divider="gray", anchor=False)
views.detected_settings()
views.preview(ds.frame)

st.subheader("Profile", anchor=False)
with st.spinner("Profiling…"):
    prof = state.current_profile()
views.profile_metrics(prof)
views.role_table(prof)

view = st.segmented_control(
    "Look closer",
    ["One column", "Missing values", "Correlations"],
    default="One column",
    key="data_view",
)
if view == "One column":
    views.column_detail(prof)
elif view == "Missing values":
    if prof.missing_cells:
        charts_view.show(charts.missing_values(prof), key="data_missing_chart")
    else:
        st.success("No missing values.")
elif view == "Correlations":
    if prof.correlation is not None:
        if prof.correlation_note:
            st.caption(prof.correlation_note)
        charts_view.show(charts.correlation_heatmap(prof.correlation), key="data_corr_chart")
    else:
        st.info(prof.correlation_note or "No numeric columns to correlate.")

journey.next_step("data")
