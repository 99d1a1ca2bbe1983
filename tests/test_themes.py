"""Themes per person: the sidebar's choice holds on every page, reaches the charts and the page colours.

AppTest runs ``app.py``'s sidebar on a session's first run only; the box keeps its choice with a
callback, which runs in later runs too, and a new session opened with the kept state draws the box
(see tests/test_pages_guide.py). The theme a browser is sent (Streamlit's run-starting message)
is checked on the message itself: AppTest has no browser session to send it to.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.proto.NewSession_pb2 import CustomThemeConfig, NewSession
from streamlit.testing.v1 import AppTest

from core.charts.style import palette
from tests.conftest import session_of
from ui import charts_view, state, theme_views

HC = "High contrast"


def template_of(theme: str) -> dict:
    """The plotly template of ``theme`` as it appears in a figure's JSON."""
    return json.loads(pio.to_json(go.Figure(layout=dict(template=palette(theme).template))))["layout"]["template"]


def drawn_charts(at: AppTest) -> list[tuple[dict, object]]:
    return [(json.loads(chart.proto.spec), chart.proto) for chart in at.get("plotly_chart")]


def stylesheets(at: AppTest) -> str:
    return "\n".join(getattr(element.proto, "body", "") for element in at.get("html"))


def luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# --------------------------------------------------------------------------- the choice, through the app


def test_high_contrast_chosen_in_the_sidebar_holds_on_every_page_and_in_every_chart():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    box = at.selectbox(key=theme_views.KEY)
    assert box.options == list(theme_views.THEMES) and box.value == "Light", "light at a first visit"
    assert "outline: 3px" not in stylesheets(at), "no high-contrast stylesheet before it is chosen"

    box.set_value(HC).run()
    assert not at.exception
    assert at.session_state[state.THEME] == HC

    at.button(key="data_sample_iris").click().run()
    at.switch_page("pages/target.py").run()
    assert at.title[0].value == "2. Target"
    assert at.session_state[state.THEME] == HC, "the choice holds on another page"
    charts = drawn_charts(at)
    assert charts, "the Target page draws the target's distribution"
    for spec, proto in charts:
        assert spec["layout"]["template"] == template_of(HC), "the chart is drawn in the chosen theme"
        assert spec["layout"]["font"]["color"] == "#000000"
        assert proto.theme == "", "our template, not Streamlit's chart theme over it"

    # A new session holding this one's state draws the sidebar (AppTest draws it on a first run only).
    again = AppTest.from_file("../app.py", default_timeout=60)
    for key, value in session_of(at).items():
        again.session_state[key] = value
    again.run()
    assert not again.exception
    assert again.selectbox(key=theme_views.KEY).value == HC, "the box shows the kept choice"
    assert "outline: 3px solid #000000" in stylesheets(again), "thick focus outlines"
    assert "text-decoration: underline" in stylesheets(again), "underlined links"
    assert drawn_charts(again), "the Data page draws the table's charts"
    for spec, _ in drawn_charts(again):
        assert spec["layout"]["template"] == template_of(HC)


def test_a_first_visit_from_a_dark_browser_starts_dark_and_its_charts_follow():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.context["theme"] = "dark"
    at.run()
    assert at.session_state[state.THEME] == "Dark"
    assert at.selectbox(key=theme_views.KEY).value == "Dark"
    assert "stBaseButton-primary" in stylesheets(at), "dark text on primary buttons"
    at.button(key="data_sample_iris").click().run()
    charts = drawn_charts(at)
    assert charts
    assert all(spec["layout"]["template"] == template_of("Dark") for spec, _ in charts)


# --------------------------------------------------------------------------- the chart wrapper


@pytest.mark.parametrize("theme", theme_views.THEMES)
def test_themed_lays_the_theme_over_a_figure(theme):
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout=dict(title="Rows per class"))
    themed = charts_view.themed(fig, theme)
    spec = json.loads(pio.to_json(themed))
    assert spec["layout"]["template"] == template_of(theme)
    assert spec["data"][0]["y"] == [1, 2], "the data stay as they are"


def test_a_chart_is_named_for_screen_readers_by_its_title_in_plain_text():
    fig = go.Figure(layout=dict(title="Target &lt;price&gt;<br><sub>by group</sub>"))
    assert charts_view.alt_text(fig) == "Target <price> by group"
    assert charts_view.alt_text(go.Figure()) is None


# --------------------------------------------------------------------------- the page colours sent to a browser


def configured_pair() -> CustomThemeConfig:
    """The theme message Streamlit builds from ``.streamlit/config.toml``: [theme] with its light and dark pair."""
    from streamlit.runtime.app_session import _populate_theme_msg

    custom = NewSession().custom_theme
    _populate_theme_msg(custom)
    _populate_theme_msg(custom.light, "theme.light")
    _populate_theme_msg(custom.dark, "theme.dark")
    assert custom.HasField("light") and custom.HasField("dark"), "config.toml defines both schemes"
    return custom


@pytest.mark.parametrize("theme", ["Light", "Dark"])
def test_light_and_dark_send_the_configured_colours_alone(theme):
    from streamlit import config

    custom = configured_pair()
    theme_views.fill_theme(custom, theme)
    section = f"theme.{theme.lower()}"
    assert custom.primary_color == config.get_option(f"{section}.primaryColor")
    assert custom.background_color == config.get_option(f"{section}.backgroundColor")
    assert custom.text_color == config.get_option(f"{section}.textColor")
    assert not custom.HasField("light") and not custom.HasField("dark"), "no pair left for the browser to pick from"
    assert custom.base == (custom.BaseTheme.DARK if theme == "Dark" else custom.BaseTheme.LIGHT)


def test_high_contrast_is_black_on_white_with_borders_and_underlined_links():
    custom = configured_pair()
    theme_views.fill_theme(custom, HC)
    assert (custom.text_color, custom.background_color) == ("#000000", "#FFFFFF")
    assert custom.link_underline and custom.show_widget_border
    assert custom.border_color == "#000000"
    assert not custom.HasField("light") and not custom.HasField("dark")


def test_every_text_colour_of_high_contrast_reaches_7_to_1_and_muted_text_4_5_to_1():
    texts = {k: v for k, v in theme_views.HIGH_CONTRAST.items() if k.endswith(("TextColor", "textColor", "linkColor"))}
    for name, colour in texts.items():
        assert contrast(colour, "#FFFFFF") >= 7, name
        assert contrast(colour, theme_views.HIGH_CONTRAST["secondaryBackgroundColor"]) >= 7, name
    from streamlit import config

    for theme in ("Light", "Dark"):
        sidebar = config.get_option(f"theme.{theme.lower()}.secondaryBackgroundColor")
        assert contrast(theme_views.MUTED_TEXT[theme], sidebar) >= 4.5, theme


def test_each_session_is_sent_its_own_choice_and_a_session_without_one_the_configured_pair():
    def create(self, *args):
        return SimpleNamespace(new_session=SimpleNamespace(custom_theme=configured_pair()))

    build = theme_views._with_session_theme(create)
    dark = SimpleNamespace(_session_state={state.THEME: "Dark"})
    contrast_session = SimpleNamespace(_session_state={state.THEME: HC})
    fresh = SimpleNamespace(_session_state={})

    assert build(dark).new_session.custom_theme.background_color == "#14171F"
    assert build(contrast_session).new_session.custom_theme.text_color == "#000000"
    untouched = build(fresh).new_session.custom_theme
    assert untouched.HasField("light") and untouched.HasField("dark"), "the browser's menu or system decides"
    assert vars(dark)[theme_views._SENT] == ("Dark", 1), "what the browser was sent, for the rerun rule"
    assert vars(fresh)[theme_views._SENT] == (None, 1)
    build(dark)
    assert vars(dark)[theme_views._SENT] == ("Dark", 2)
    build(dark, "page", SimpleNamespace(fragment_ids=("poll",)))
    assert vars(dark)[theme_views._SENT] == ("Dark", 2), "a fragment's run does not restyle the page"


def test_every_theme_has_its_page_colours_and_its_chart_palette():
    from core.charts.style import palette
    from core.themes import THEMES

    assert set(theme_views.MUTED_TEXT) == set(THEMES)
    assert all(palette(theme) for theme in THEMES)


def test_the_hook_is_found_in_this_streamlit_and_wrapped_once():
    from streamlit.runtime.app_session import AppSession

    assert theme_views.install(), "Streamlit moved AppSession._create_new_session_message: see ui/theme_views.py"
    wrapped = AppSession._create_new_session_message
    assert theme_views.install()
    assert AppSession._create_new_session_message is wrapped, "installing again does not wrap twice"
