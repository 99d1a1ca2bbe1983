"""Ask the browser to warn before the tab is closed or reloaded while work is running.

A reload starts a new Streamlit session: the running work's page is gone (the work
itself is recorded as stopped when the old session ends, and the last run can be
restored from the experiment log). The warning is the browser's own "Leave site?"
dialog, set on the app's window from a tiny same-origin component.
"""

from __future__ import annotations

import streamlit as st

_SCRIPT = """<script>
(function () {
  const host = window.parent;
  if (host.__nocodeLeave) {
    host.removeEventListener("beforeunload", host.__nocodeLeave);
    host.__nocodeLeave = null;
  }
  if (%s) {
    host.__nocodeLeave = function (event) { event.preventDefault(); event.returnValue = ""; return ""; };
    host.addEventListener("beforeunload", host.__nocodeLeave);
  }
})();
</script>"""


def warn_before_leaving(active: bool) -> None:
    """Turn the browser's leave-page warning on (work is running) or off."""
    st.iframe(_SCRIPT % ("true" if active else "false"), height=1)
