"""core.profiling: exact counts on all rows, sampled distributions, stated."""

import numpy as np
import pandas as pd

from core.profiling import profile
from core.schema import effective_roles, infer_roles


def prof(frame, **kw):
    return profile(frame, effective_roles(infer_roles(frame), {}), **kw)


def test_counts_on_a_small_table():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 2.0], "b": ["x", "y", None, "y"]})
    p = prof(frame)
    assert (p.n_rows, p.n_cols, p.missing_cells, p.duplicate_rows) == (4, 2, 2, 1)
    a = p.column("a")
    assert a.missing == 1 and abs(a.missing_share - 0.25) < 1e-9
    assert a.stats["median"] == 2.0 and a.stats["min"] == 1.0 and a.stats["max"] == 2.0
    assert sum(a.histogram[1]) == 3
    b = p.column("b")
    assert b.top_values[0] == ("y", 2)
    assert b.distinct == 2
    assert not p.sampled


def test_large_table_is_sampled_but_counts_stay_exact():
    rng = np.random.default_rng(0)
    n = 120_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["u", "v"], n), "k": np.arange(n)})
    frame.loc[:999, "x"] = np.nan
    frame = pd.concat([frame, frame.iloc[:10]], ignore_index=True)  # 10 exact duplicates
    p = prof(frame, sample_rows=5_000)
    assert p.sampled and p.sample_size == 5_000
    assert p.missing_cells == 1_000 + 10
    assert p.duplicate_rows == 10
    assert sum(p.column("x").histogram[1]) <= 5_000


def test_correlation_only_for_numeric_and_capped():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"n{i}": rng.normal(size=50) for i in range(40)})
    frame["label"] = ["a", "b"] * 25
    p = prof(frame)
    assert p.correlation.shape == (30, 30)
    assert "label" not in p.correlation.columns
    assert p.correlation_note


def test_symbol_numbers_are_hinted():
    frame = pd.DataFrame({"price": ["$12", "$1,200", "$7.50", "$3"] * 10})
    assert prof(frame).column("price").looks_numeric


def test_summary_rows_cover_every_column():
    frame = pd.DataFrame({"a": [1, 2, 3], "when": pd.to_datetime(["2024-01-01", "2024-01-02", None])})
    rows = prof(frame).summary_rows()
    assert rows["column"].tolist() == ["a", "when"]
    assert rows.loc[1, "missing %"] == 33.3
