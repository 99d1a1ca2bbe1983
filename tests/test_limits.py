"""core.limits: pickers and charts stay small however wide the table."""

from __future__ import annotations

import time

import pandas as pd

from core.limits import CHART_CATEGORIES, MAX_OPTIONS, group_rare, matches, ratio_pairs, shortlist

WIDE = [f"x{i}" for i in range(2_000)]


def test_two_thousand_columns_give_a_bounded_list_of_ratio_pairs_counted_not_listed():
    started = time.perf_counter()
    pairs = ratio_pairs(WIDE)
    assert time.perf_counter() - started < 1.0, "the 3,998,000 pairs are counted, not built"
    assert len(pairs.options) == MAX_OPTIONS
    assert pairs.total == pairs.matching == 2_000 * 1_999
    assert pairs.hidden == 2_000 * 1_999 - MAX_OPTIONS
    assert pairs.options[:2] == [("x0", "x1"), ("x0", "x2")]
    assert "3,998,000" in pairs.note("pairs") and "Type part of a name" in pairs.note("pairs")


def test_ratio_search_matches_either_column_and_counts_exactly():
    columns = ["price", "area", "rooms", "age"]
    found = ratio_pairs(columns, "area")
    assert found.matching == len(found.options) == 6  # area / 3 others, 3 others / area
    assert all("area" in pair for pair in found.options)
    assert found.options[:3] == [("area", "price"), ("area", "rooms"), ("area", "age")], "area / … first"
    assert found.note() == ""
    none = ratio_pairs(WIDE, "no such column")
    assert none.options == [] and none.matching == 0


def test_chosen_pairs_stay_whatever_the_search():
    chosen = [("x1999", "x1998")]
    pairs = ratio_pairs(WIDE, "x7", keep=chosen)
    assert pairs.options[0] == ("x1999", "x1998")
    assert len(pairs.options) == MAX_OPTIONS
    assert ("x5", "x5") not in ratio_pairs(["x5"], keep=[("x5", "x5")]).options


def test_shortlist_keeps_choices_first_and_caps_the_rest():
    options = [f"col {i}" for i in range(5_000)]
    short = shortlist(options, "", keep=["col 4999"], limit=100)
    assert short.options[0] == "col 4999" and len(short.options) == 100
    assert short.total == 5_000 and short.hidden == 4_900
    narrowed = shortlist(options, "col 12", limit=100)
    assert narrowed.options[:2] == ["col 12", "col 112"]
    assert narrowed.matching == sum("12" in str(i) for i in range(5_000))
    assert matches("Sale Price", "price sale") and not matches("price", "cost")


def test_group_rare_keeps_the_most_frequent_categories_and_groups_the_rest():
    labels = pd.Series([f"c{i}" for i in range(5_000)] * 2 + ["big"] * 50 + [None] * 3)
    grouped = group_rare(labels)
    assert grouped.nunique() == CHART_CATEGORIES
    assert (grouped == "big").sum() == 50
    other = f"other ({5_001 - (CHART_CATEGORIES - 1):,} classes)"
    assert (grouped == other).sum() == 10_000 - 2 * (CHART_CATEGORIES - 2)
    assert grouped.isna().sum() == 3
    few = pd.Series([1, 2, 2])
    assert group_rare(few).tolist() == ["1", "2", "2"]
