"""Shared look of every chart: palettes, one colour per model, themes, the layout rule, escaping user text.

Defined once here and used by every chart module:

* :data:`MODEL_PALETTE` and :func:`model_colors` — a model keeps one colour on every chart of a run
  (leaderboard, curves, comparisons), given by its position in the run's model list; the baseline is
  always the neutral grey :data:`BASELINE_COLOR`.
* :data:`DIVERGING`, :data:`POSITIVE`, :data:`NEGATIVE` — the colour-blind-safe purple–orange scale of
  explanations (low → high values, pushes down → up), never red against blue.
* :data:`THEMES`, :func:`palette` and :func:`apply_theme` — "Light", "Dark" and "High contrast"; model
  colours are the same in every theme.
* :func:`finish` — the one layout rule every figure ends with: the title on top, a legend under it,
  then whatever sits above the plot (subplot titles, labels), each with its own room.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from core.themes import THEMES

ACCENT = "#4C6EF5"
MUTED = "#ADB5BD"
WARN = "#F08C00"
GOOD = "#2B8A3E"

#: Okabe & Ito's colour-blind-safe qualitative palette, in the order models take it. Black is left
#: out (it is the text's colour) and yellow comes last (faint on white).
MODEL_PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
#: The baseline (always predicts the most common answer or the mean) in every chart: a neutral grey.
BASELINE_COLOR = MUTED

#: Low → high values in explanations: purple → grey → orange (ColorBrewer's PuOr, colour-blind safe);
#: the middle is a grey that still shows on a white or a dark background.
DIVERGING: list[list[float | str]] = [
    [0.0, "#5E3C99"],
    [0.25, "#B2ABD2"],
    [0.5, "#C8C8C8"],
    [0.75, "#FDB863"],
    [1.0, "#E66101"],
]
#: A contribution that pushes the output up (orange, the scale's high end) or down (purple, its low end).
POSITIVE, NEGATIVE = "#E66101", "#5E3C99"
#: Rows of category and text columns in a beeswarm: one neutral colour (their values have no low or high).
NEUTRAL = "#5C636A"


def is_baseline(name: object) -> bool:
    """Whether a model (by its name in the run) is the baseline, drawn grey on every chart."""
    return str(name).startswith("Baseline")


def model_colors(models: Iterable[Any]) -> dict[Any, str]:
    """One colour per model of a run: ``{name: colour}``, stable across every chart and page.

    ``models`` is the run's model list in its order (e.g. ``[m.name for m in request.models]``); the
    baseline is grey and takes no colour of the palette, the others take :data:`MODEL_PALETTE` in
    order (again from the start after seven).
    """
    colors: dict[Any, str] = {}
    slot = 0
    for name in models:
        if name in colors:
            continue
        if is_baseline(name):
            colors[name] = BASELINE_COLOR
        else:
            colors[name] = MODEL_PALETTE[slot % len(MODEL_PALETTE)]
            slot += 1
    return colors


def run_colors(request: Any) -> dict[str, str]:
    """:func:`model_colors` of a training request's models (``request.models``, each with a ``name``)."""
    return model_colors(run.name for run in request.models)


def colors_for(keys: Iterable[Any], colors: Mapping[Any, str] | None = None) -> dict[Any, str]:
    """The colour of each of a figure's models: from ``colors`` (the run's :func:`model_colors`) when it
    names them, else by their position among ``keys``."""
    keys = list(keys)
    own = model_colors(keys)
    return {key: (colors or {}).get(key, own[key]) for key in keys}


# --------------------------------------------------------------------------- themes


def _template(base: str, **layout: Any) -> go.layout.Template:
    template = go.layout.Template(pio.templates[base])
    template.layout.colorway = MODEL_PALETTE
    template.layout.update(layout)
    return template


_AXIS_HC = dict(
    showline=True,
    linecolor="#000000",
    linewidth=2,
    mirror=False,
    ticks="outside",
    tickcolor="#000000",
    tickwidth=2,
    gridcolor="#8C8C8C",
    zerolinecolor="#000000",
    zerolinewidth=2,
    title=dict(font=dict(color="#000000")),
)
_TEMPLATES = {
    "Light": _template("plotly_white"),
    # The page's own background shows through, so a chart is not a black box on the dark page.
    "Dark": _template("plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)"),
    "High contrast": _template(
        "plotly_white",
        font=dict(color="#000000", size=16),
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        xaxis=_AXIS_HC,
        yaxis=_AXIS_HC,
        legend=dict(font=dict(color="#000000")),
        hoverlabel=dict(bgcolor="#FFFFFF", font=dict(color="#000000"), bordercolor="#000000"),
    ),
}


@dataclass(frozen=True)
class Palette:
    """The colours, text and lines of one theme; ``models`` and ``diverging`` are the same in all."""

    theme: str
    template: go.layout.Template
    models: tuple[str, ...]
    diverging: list[list[float | str]]
    baseline: str
    muted: str
    neutral: str
    text: str | None  # None: the template's own
    font_size: int
    line_width: float


_PALETTES = {
    "Light": Palette(
        "Light", _TEMPLATES["Light"], MODEL_PALETTE, DIVERGING, BASELINE_COLOR, MUTED, NEUTRAL, None, 13, 2
    ),
    "Dark": Palette("Dark", _TEMPLATES["Dark"], MODEL_PALETTE, DIVERGING, "#8D96A0", "#8D96A0", "#CED4DA", None, 13, 2),
    "High contrast": Palette(
        "High contrast",
        _TEMPLATES["High contrast"],
        MODEL_PALETTE,
        DIVERGING,
        "#595959",
        "#595959",
        "#262626",
        "#000000",
        16,
        3.5,
    ),
}


def palette(theme: str = "Light") -> Palette:
    """The palette of ``theme`` (one of :data:`THEMES`); an unknown name gets a message that lists them."""
    try:
        return _PALETTES[theme]
    except KeyError:
        raise ValueError(f"Unknown chart theme {theme!r}: use one of {', '.join(THEMES)}.") from None


#: Colours that depend on the theme, by role; any theme's colour of a role becomes the target theme's.
_ROLES = ("baseline", "muted", "neutral")


def _swap(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        return mapping.get(value.upper(), value)
    if isinstance(value, list | tuple):
        return [_swap(v, mapping) for v in value]
    return value


def apply_theme(fig: go.Figure, theme: str) -> go.Figure:
    """``fig`` in ``theme``: its template, font size and colour, line widths, and the theme's greys.

    Model colours and the diverging scale stay as they are (the same in every theme); the greys of
    the baseline, of muted marks and of neutral marks become the theme's, so they stay readable on
    a dark background or in high contrast. Call it on a figure fresh from a chart function.
    """
    p = palette(theme)
    mapping = {getattr(other, role).upper(): getattr(p, role) for other in _PALETTES.values() for role in _ROLES}
    if fig.layout.template != p.template:  # setting a template validates all of it again: most of a theme's cost
        fig.update_layout(template=p.template)
    fig.update_layout(font=dict(size=p.font_size))
    if p.text is not None:
        fig.update_layout(font_color=p.text, title_font_color=p.text, legend_font_color=p.text)
        fig.update_annotations(font_color=p.text)
    thicker = p.line_width > _PALETTES["Light"].line_width
    for trace in fig.data:
        marker = getattr(trace, "marker", None)
        if marker is not None and marker.color is not None:
            marker.color = _swap(marker.color, mapping)
        line = getattr(trace, "line", None)
        if line is not None:
            if line.color is not None:
                line.color = _swap(line.color, mapping)
            lines = trace.type in ("scatter", "scattergl") and "lines" in (trace.mode or "lines")
            if thicker and lines and line.width != 0:  # a band's outline (width 0) stays hidden
                line.width = max(line.width or 2, p.line_width)
    for shape in fig.layout.shapes:
        if shape.line.color is not None:
            shape.line.color = _swap(shape.line.color, mapping)
        if thicker:
            shape.line.width = max(shape.line.width or 2, p.line_width * 0.75)
    return finish(fig)  # a larger font needs more room above the plot


# --------------------------------------------------------------------------- layout

#: Every figure starts in the light look as plotly's default template, which plotly takes as already
#: validated; a template set on each figure (``template=`` in its layout) was validated again, all of
#: it, every time: 15 of the 18 ms a five-line chart took to build (the pages build charts on every
#: new run, the Train page's live curves on every new epoch). Set once, when the charts are imported.
LIGHT_TEMPLATE = "nocode-light"
pio.templates[LIGHT_TEMPLATE] = _TEMPLATES["Light"]
pio.templates.default = LIGHT_TEMPLATE
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))
#: Room for a one-line title at the top of a figure (its padding included), at the light theme's font size.
TITLE_PX = 40
#: Room for one row of legend entries, of subplot titles or of labels above the plot (the same).
ROW_PX = 24
_FONT_PX = 13  # the light theme's font size, that the rooms above are measured for
#: The narrowest a chart is drawn (half of a wide page on a 1024-pixel projector): legend rows are counted for it.
NARROW_PX = 480
_DEFAULT_HEIGHT = 450  # plotly's, when a figure sets none


def _legend_entries(fig: go.Figure) -> list[str]:
    return [str(trace.name) for trace in fig.data if trace.showlegend is not False and trace.name]


def legend_shown(fig: go.Figure) -> bool:
    """Whether plotly draws the figure's legend (by default: when two or more traces would be in it)."""
    if fig.layout.showlegend is not None:
        return bool(fig.layout.showlegend) and bool(_legend_entries(fig))
    return len(_legend_entries(fig)) >= 2


def legend_rows(fig: go.Figure, width: int = NARROW_PX) -> int:
    """How many rows a horizontal legend of ``fig`` takes in a chart ``width`` pixels wide (an estimate).

    plotly lines a wrapping horizontal legend up in columns as wide as its widest entry.
    """
    entries = _legend_entries(fig)
    if not entries:
        return 0
    title = fig.layout.legend.title.text or ""
    char = 7 * _scale(fig)
    widest = 44 + char * max(len(name) for name in entries)
    columns = max(1, int((width - char * len(title)) // widest))
    return math.ceil(len(entries) / columns)


def _above_plot(fig: go.Figure) -> bool:
    """Whether something sits just above the plot: subplot titles, notes, or labels outside the axes."""
    for note in fig.layout.annotations:
        if note.yref in ("paper", None) and note.y is not None and note.y >= 1 and note.yanchor in ("bottom", None):
            return True
    for trace in fig.data:
        positions = getattr(trace, "textposition", None)
        positions = [positions] if isinstance(positions, str) else list(positions or [])
        if getattr(trace, "cliponaxis", None) is False and any(str(p).startswith("top") for p in positions):
            return True
    return False


def top_band(fig: go.Figure) -> dict[str, float]:
    """Pixels from the top of ``fig`` to where each band above its plot begins and ends.

    ``title`` (0 or :data:`TITLE_PX`), ``legend`` (a horizontal legend under the title: its rows),
    ``above`` (subplot titles or labels above the plot) and ``top``, the margin all of them need.
    """
    scale = _scale(fig)
    title = round(TITLE_PX * scale) if fig.layout.title.text else 0
    legend = round(ROW_PX * scale) * legend_rows(fig) if legend_shown(fig) and _legend_on_top(fig) else 0
    above = round(ROW_PX * scale) if _above_plot(fig) else 0
    return dict(title=title, legend=legend, above=above, top=title + legend + above)


def _scale(fig: go.Figure) -> float:
    """How much larger than the light theme's the figure's text is (a theme's larger font needs more room)."""
    size = fig.layout.font.size or fig.layout.template.layout.font.size or _FONT_PX
    return max(1.0, size / _FONT_PX)


def _legend_on_top(fig: go.Figure) -> bool:
    """Whether the legend goes above the plot: unless the chart put it elsewhere itself (e.g. at the bottom)."""
    legend = fig.layout.legend
    if legend.orientation is None:
        return True
    return legend.orientation == "h" and (legend.y is None or (legend.yref == "container" and legend.y > 0.5))


def finish(fig: go.Figure) -> go.Figure:
    """The one layout rule of every chart: title, legend and what sits above the plot never overlap.

    The title is pinned to the top; a legend the chart did not place itself runs horizontally
    under it (rows counted for a narrow chart, :data:`NARROW_PX`); subplot titles and labels above
    the plot get a row below that. The top margin makes room for all of them, and the figure grows
    by as much, so the plot keeps its height.
    """
    layout = fig.layout
    band = top_band(fig)
    if band["title"]:
        fig.update_layout(title=dict(yref="container", y=1, yanchor="top", pad=dict(t=12)))
    margin = layout.margin.t if layout.margin.t is not None else 0
    extra = max(0, band["top"] - margin)
    height = (layout.height or _DEFAULT_HEIGHT) + extra
    if extra:
        fig.update_layout(height=height, margin=dict(t=band["top"]))
    if band["legend"]:
        y = 1 - band["title"] / height if band["title"] else 1.0
        fig.update_layout(legend=dict(orientation="h", yref="container", y=y, yanchor="top", x=0))
    return fig


def safe_text(value: object, limit: int = 60) -> str:
    """Escape user text for plotly labels (which render some HTML) and shorten it."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)
