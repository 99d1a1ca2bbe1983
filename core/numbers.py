"""How the app writes a number for people: one rule for every page, chart, report and card.

Scores have their own rule (:func:`core.metrics.format_score`: a bounded score with 4 decimals, an amount
in the target's units, a share, a count); everything else -- a column's statistics, a prediction, a SHAP
push, a data value -- reads through :func:`format_number`.
"""

from __future__ import annotations

import math

#: What a missing number reads as.
MISSING = "—"


def format_number(value: float | int | str | None, *, signed: bool = False, missing: str = MISSING) -> str:
    """A number as people read it, never in exponent form between a millionth and a quadrillion.

    Whole numbers below 10,000 keep no separator (years, counts: ``1990``, ``312``); from 1,000 on,
    thousands separators and no decimals (an MAE of 12,964.3 reads ``12,964``, never ``1.296e+04``);
    below 1,000, 4 significant digits (``35.27``, ``0.1234``, ``0.000093``); ``signed`` adds ``+`` to
    positive values (a push up); a minus is the typographic ``−``. Text passes through unchanged.
    """
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    sign = "+" if signed and number > 0 else ("−" if number < 0 else "")
    size = abs(number)
    if size >= 1e15 or (0 < size < 1e-6):
        text = f"{size:.3g}"
    elif size.is_integer() and size < 1e4:
        text = str(int(size))
    elif size >= 1000:
        text = f"{size:,.0f}"
    elif 0 < size < 1e-3:  # 4 significant digits in fixed form: 0.00009312, never 9.312e-05
        text = f"{size:.{3 - math.floor(math.log10(size))}f}".rstrip("0").rstrip(".")
    else:
        text = f"{size:.4g}"
    return sign + text


def seconds_words(seconds: float, soon: str = "under 1 s") -> str:
    """A time to come in words: ``soon`` below a second, "about 12 s", "about 3 min"."""
    if seconds < 1:
        return soon
    if seconds < 90:
        return f"about {round(seconds):,} s"
    return f"about {round(seconds / 60):,} min"
