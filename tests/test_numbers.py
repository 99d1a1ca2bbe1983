"""The one rule for writing a number (core.numbers): every page, chart, report and card reads numbers through it."""

from __future__ import annotations

import math

import pytest

from core.numbers import MISSING, format_number


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12964.3, "12,964"),  # an amount in dollars: never 1.296e+04
        (1990.0, "1990"),  # a year: no separator
        (312, "312"),
        (1_460_000, "1,460,000"),
        (35.2712, "35.27"),
        (0.123456, "0.1235"),
        (0.000093, "0.000093"),
        (0.0000001234, "1.23e-07"),
        (0.0, "0"),
        (-41234.5, "−41,234"),
        (float("nan"), MISSING),
        (None, MISSING),
        (math.inf, "∞"),
        ("text", "text"),
    ],
)
def test_numbers_read_the_same_everywhere(value, shown):
    assert format_number(value) == shown


def test_signed_pushes_and_small_values_never_in_exponent_form_from_a_millionth():
    assert format_number(0.023, signed=True) == "+0.023"
    assert format_number(-0.023, signed=True) == "−0.023"
    assert format_number(0.00009312) == "0.00009312"
    assert "e" not in format_number(0.00093) and format_number(0.00093) == "0.00093"
    assert format_number(None, missing="missing") == "missing"
