"""The themes a person can choose: named once, for the pages (``ui/theme_views.py``) and the charts
(``core.charts.style``). No plotly here: the first page reads the names before any chart exists."""

from __future__ import annotations

#: The themes, the first being the default.
THEMES = ("Light", "Dark", "High contrast")
