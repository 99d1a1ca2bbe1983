"""The look of the pages, per person: Light, Dark or High contrast, chosen in the sidebar.

Streamlit's themes are configuration, the same for every visitor (``st._config.set_option`` would
change everyone's app). What a browser shows is the theme Streamlit sends it at the start of every
script run (the ``NewSession`` message). :func:`install` wraps the one method that builds that
message so that, for a session whose person chose a theme, it carries that theme instead of the
configured light and dark pair: the choice is read from that session's own state, so one person's
choice never reaches another's browser. Streamlit then restyles everything itself — widgets, tables
(drawn on a canvas, out of reach of CSS), menus and charts — without reloading the page.

The colours of Light and Dark are ``[theme.light]`` and ``[theme.dark]`` of ``.streamlit/config.toml``
(defined once, there); High contrast is :data:`HIGH_CONTRAST`. A session's first page arrives before
its state exists, with the configured pair: the browser shows its own (system or menu) choice, and
the box starts from it (a dark browser starts Dark). What a theme cannot say (dark text on primary
buttons in Dark, thick focus outlines, underlined links, no grey text in High contrast, readable
locked steps in all) is our own stylesheet, ``ui/theme_*.css``, injected with ``st.html``: fixed
text of ours, never the person's.

The names of the themes are ``core.themes.THEMES``, shared with the charts' palettes (``core.charts.style``).

If a Streamlit upgrade moves the method, :func:`install` returns False, the sidebar says where the
page colours are switched instead (the app menu), and the charts and stylesheets still follow the choice.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

from core.themes import THEMES
from ui import state

#: The widget key of the sidebar's Theme box.
KEY = "sidebar_theme"
#: Marks the sidebar slot of this script run once the box is drawn (the journey draws its sidebar twice).
_DRAWN = "_theme_box_drawn"
_PATCHED = "_nocode_ml_theme_patched"
#: On a session's ``AppSession``: (the theme its browser was last sent or None for the configured pair,
#: how many run-starting messages it was sent); and the count a rerun was last asked for.
_SENT = "_nocode_ml_theme_sent"
_ASKED = "_nocode_ml_theme_rerun_asked"
_HERE = Path(__file__).resolve().parent

#: High contrast as a Streamlit theme: black text on white, black borders round every widget, links
#: in dark blue and underlined. Every text colour is at least 7:1 on white (WCAG AAA).
HIGH_CONTRAST: dict[str, Any] = {
    "primaryColor": "#000000",
    "backgroundColor": "#FFFFFF",
    "secondaryBackgroundColor": "#F2F2F2",
    "textColor": "#000000",
    "linkColor": "#0000CC",
    "linkUnderline": True,
    "borderColor": "#000000",
    "showWidgetBorder": True,
    "showSidebarBorder": True,
    "codeTextColor": "#000000",
    "codeBackgroundColor": "#F2F2F2",
    "dataframeBorderColor": "#595959",
    "dataframeHeaderBackgroundColor": "#E6E6E6",
    "dataframeHeaderTextColor": "#000000",
    "redTextColor": "#8B0000",
    "orangeTextColor": "#6B3500",
    "yellowTextColor": "#574400",
    "greenTextColor": "#004D00",
    "blueTextColor": "#00008B",
    "violetTextColor": "#4B0082",
    "grayTextColor": "#000000",
}
#: The stylesheet (in ``ui/``) each theme adds to ``theme_base.css``, the fixes every theme needs.
_STYLESHEETS = {"Light": (), "Dark": ("theme_dark.css",), "High contrast": ("theme_high_contrast.css",)}
#: Muted text (a locked step's link) in each theme: 5.8:1 on its sidebar (#F4F6FB, #232836), black in high contrast.
MUTED_TEXT = {"Light": "#5A6070", "Dark": "#9CA3B0", "High contrast": "#000000"}


# --------------------------------------------------------------------------- the choice


def current() -> str:
    """The person's theme, one of :data:`THEMES` (at a first visit: the browser's light or dark)."""
    chosen = state.theme()
    return chosen if chosen in THEMES else "Light"


def sidebar_choice(slot=None) -> None:
    """The sidebar's "Theme" box, drawn once per run below the journey (see ``guide_views.sidebar_toggles``).

    The choice is kept by the box's callback, which runs before the script: the page drawn in the
    same run (its charts, our stylesheet) already follows it. The page's own colours travel in the
    message that starts a run; when the one this browser was last sent shows another theme, the
    script reruns once (:func:`_follow`).
    """
    if slot is not None:  # the mark goes in the slot's own __dict__: a DeltaGenerator answers any getattr
        if vars(slot).get(_DRAWN):
            return
        vars(slot)[_DRAWN] = True
    patched = install()
    if KEY not in st.session_state and st.context.theme.type == "dark" and state.theme() == "Light":
        state.set_theme("Dark")  # a first visit starts from the browser's own (system or menu) setting
    if patched:
        _follow()
    st.session_state[KEY] = current()  # ui.state keeps the choice; the box only shows it
    st.sidebar.selectbox(
        "Theme",
        THEMES,
        key=KEY,
        on_change=lambda: state.set_theme(st.session_state[KEY]),
        help="The colours of the pages and the charts, for you only. High contrast: black on white, "
        "thick outlines round the focused control, underlined links.",
    )
    if not patched:
        st.sidebar.caption("Page colours: app menu ⋮ → Settings → Theme. Charts follow this box.")
    stylesheet(current())


def stylesheet(theme: str) -> None:
    """Inject our stylesheet for ``theme`` (fixed files of ours, never user text)."""
    st.html(f"<style>{css(theme)}</style>")  # style only: Streamlit puts it in its event container, out of sight


@cache
def css(theme: str) -> str:
    """The CSS for ``theme``: its colour variables, ``theme_base.css`` and the theme's own, read once per process."""
    names = ("theme_base.css", *_STYLESHEETS[theme])
    variables = f":root {{ --nocode-muted: {MUTED_TEXT[theme]}; }}"
    return "\n".join([variables, *((_HERE / name).read_text(encoding="utf-8") for name in names)])


# --------------------------------------------------------------------------- Streamlit's theme, per session


def fill_theme(custom: Any, theme: str) -> None:
    """Make ``custom`` (the ``CustomThemeConfig`` Streamlit built from the config) say ``theme`` alone.

    Light and Dark are the config's ``[theme.light]``/``[theme.dark]`` (as Streamlit parsed them) laid
    over ``[theme]``; High contrast is :data:`HIGH_CONTRAST` over ``[theme]``. With no light/dark pair
    left to pick from, the browser shows this theme whatever its menu or system said.
    """
    from streamlit.string_util import to_snake_case

    section = type(custom)()
    if theme in ("Light", "Dark"):
        section.CopyFrom(custom.light if theme == "Light" else custom.dark)
    custom.ClearField("light")
    custom.ClearField("dark")
    custom.MergeFrom(section)
    if theme == "High contrast":
        for name, value in HIGH_CONTRAST.items():
            setattr(custom, to_snake_case(name), value)
    custom.base = custom.BaseTheme.DARK if theme == "Dark" else custom.BaseTheme.LIGHT


def _with_session_theme(create):
    def create_new_session_message(self, *args, **kwargs):
        msg = create(self, *args, **kwargs)
        try:  # this session's own state (Streamlit's SessionState has no .get)
            chosen = self._session_state[state.THEME]
        except Exception:  # not set yet, or anything else: never let the theme break a session's start
            chosen = None
        if chosen not in THEMES:
            chosen = None  # the configured light and dark pair: the browser's menu or system decides
        else:
            fill_theme(msg.new_session.custom_theme, chosen)
        descriptor = kwargs.get("run_descriptor", args[1] if len(args) > 1 else None)
        if not getattr(descriptor, "fragment_ids", ()):  # a fragment's run: the browser keeps its theme
            _, count = getattr(self, _SENT, (None, 0))
            setattr(self, _SENT, (chosen, count + 1))  # on this session's own object: what its browser shows
        return msg

    setattr(create_new_session_message, _PATCHED, True)
    return create_new_session_message


def _follow() -> None:
    """Rerun once if this browser was last sent another theme than the person's (see :func:`sidebar_choice`).

    The message that starts a run is built while the run begins, so it may have left before the
    box's callback kept a new choice. At most one rerun per message sent: never a loop.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return
    session = Runtime.instance().get_app_session(ctx.session_id)
    held = vars(session).get(_SENT) if session is not None else None  # own attributes only (tests mock it)
    if not isinstance(held, tuple):
        return
    sent, count = held
    shown = sent or {"light": "Light", "dark": "Dark"}.get(str(st.context.theme.type))
    if shown == current() or vars(session).get(_ASKED) == count:
        return
    setattr(session, _ASKED, count)
    st.rerun()


def install() -> bool:
    """Send each session the theme its person chose; True if Streamlit's method was found (idempotent)."""
    from streamlit.runtime.app_session import AppSession

    method = getattr(AppSession, "_create_new_session_message", None)
    if method is None:
        return False
    if not getattr(method, _PATCHED, False):
        AppSession._create_new_session_message = _with_session_theme(method)  # type: ignore[method-assign]
    return True
