"""Entry point: page config, session state, the journey sidebar and navigation.

Run with ``make run`` (or ``streamlit run app.py``). Heavy libraries
(TensorFlow, shap) are never imported here: pages import them lazily, so the
first page appears fast.

Streamlit runs this file as ``__main__``. The embedded Dask cluster's worker
processes are started with multiprocessing's "spawn", which re-imports the
parent's ``__main__`` file (this one, as ``__mp_main__``) in every worker; the
guard keeps the app from running there, as Python's multiprocessing guide asks.
"""

if __name__ == "__main__":
    import streamlit as st

    from core import memory
    from ui import idle_views, journey, runtime, sessions, state

    runtime.protect_background_training()
    memory.arrow_on_system_allocator()  # freed tables go back to the system when a session ends (core/memory.py)
    memory.share_gpu_memory()  # a network predicting here leaves the workers their share of a GPU (core/hardware.py)

    st.set_page_config(page_title="No-code ML dashboard", page_icon=":material/model_training:", layout="wide")
    state.init()
    state.workspace()  # the browser's workspace id goes into the address, so a reload finds its runs again
    sessions.watch(running=True)  # when this browser session ends, its work stops and its data goes (ui/sessions.py)
    idle_views.show_idle_note()  # its data was freed while it sat idle: say so, and what to do
    page = st.navigation(journey.pages(), position="hidden")
    current = page.url_path or journey.STEPS[0].key
    slot = st.sidebar.empty()
    # Drawn before the page, so a page that stops early (a guard's st.stop) still has it, and again
    # after, in the same slot, so it shows what the page just did (a step done, one unlocked).
    try:
        drawn = journey.sidebar(slot, current)
        page.run()
        journey.sidebar(slot, current, drawn)  # only if the page changed what it shows
    finally:
        sessions.ran()  # the idle time counts from the end of a page run, never during one
