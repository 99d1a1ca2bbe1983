"""Pure functions from computed results to plotly figures.

Nothing here computes statistics from raw data beyond what a chart needs to
bin or order; the inputs are profiles, frames and arrays from other ``core``
modules. Every string that came from the person's file passes through
:func:`safe_text`, because plotly renders a subset of HTML in labels.

One module per part of the journey; everything is re-exported here, so pages
write ``charts.roc_figure(...)``.
"""

from core.charts.anomaly import *  # noqa: F403
from core.charts.data import *  # noqa: F403
from core.charts.experiments import *  # noqa: F403
from core.charts.explain import *  # noqa: F403
from core.charts.predict import *  # noqa: F403
from core.charts.results import *  # noqa: F403
from core.charts.style import (  # noqa: F401
    ACCENT,
    BASELINE_COLOR,
    DIVERGING,
    GOOD,
    LAYOUT,
    MODEL_PALETTE,
    MUTED,
    NEGATIVE,
    POSITIVE,
    THEMES,
    WARN,
    Palette,
    apply_theme,
    finish,
    model_colors,
    palette,
    run_colors,
    safe_text,
)
from core.charts.training import *  # noqa: F403
from core.charts.words import *  # noqa: F403
