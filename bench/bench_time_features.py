"""Benchmark: features from earlier rows (``core.time_features.PastFeatures``) against hand-written pandas and polars.

Generates (seeded, in memory) 1,000,000 rows of 10 entities: a daily date per entity (about
100,000 days each, days missing at random), two numeric columns, rows shuffled. Times, best of N:

* ``PastFeatures.fit_transform`` (what fitting the model's pipeline runs on the training rows):
  lags 1, 2, 3; moving windows of 3 and 7 rows with mean and std; the change; the days since the
  entity's previous row; day of week and month; the rows returned in the order given;
* the reference: the same columns written by hand with pandas (sort by entity and date, groupby
  ``shift`` and ``rolling``, back to the given order);
* polars (``shift``/``rolling_*`` ``.over`` the entity on the sorted frame), when installed.

Checks that each computes the same numbers (to 1e-9 relative or 1e-8 absolute: a moving std of nearly
equal values differs in its last digits between algorithms), then prints seconds and the ratio to
the pandas reference. Goal (issue 13): at most 2x the hand-written pandas.

Usage: ``python bench/bench_time_features.py [--rows 1000000] [--entities 10] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COLUMNS = ("load", "temp")
LAGS = (1, 2, 3)
WINDOWS = (3, 7)
STATS = ("mean", "std")
CALENDAR = ("day of week", "month")


def make_table(rows: int, entities: int, seed: int = 7):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    per = rows // entities
    # Each entity's days in order, with about 1 in 10 days missing; then every row shuffled.
    steps = rng.choice([1, 1, 1, 1, 1, 1, 1, 1, 1, 2], size=(entities, per))
    days = pd.Timestamp("1800-01-01") + pd.to_timedelta(np.cumsum(steps, axis=1).ravel(), unit="D")
    frame = pd.DataFrame(
        {
            "day": days,
            "unit": np.repeat([f"unit {i}" for i in range(entities)], per),
            "load": rng.normal(100, 15, per * entities),
            "temp": rng.normal(12, 8, per * entities),
        }
    )
    frame.loc[rng.random(len(frame)) < 0.01, "load"] = np.nan  # a few gaps in the readings
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def ours(frame):
    from core.time_features import TimeSetup, past_features

    setup = TimeSetup("day", "unit", COLUMNS, LAGS, WINDOWS, STATS, True, True, CALENDAR)
    return past_features(setup, dates=True).fit_transform(frame)


def by_hand(frame):
    """The same features with pandas' groupby shift and rolling, as one would write them."""
    import pandas as pd

    ordered = frame.sort_values(["unit", "day"], kind="stable")
    groups = ordered.groupby("unit", sort=False)
    out = {}
    for column in COLUMNS:
        shifted = groups[column].shift(1)
        for lag in LAGS:
            out[f"{column} lag {lag}"] = shifted if lag == 1 else groups[column].shift(lag)
        for window in WINDOWS:
            rolling = groups[column].rolling(window, min_periods=1)
            counts = groups.cumcount()
            for stat in STATS:
                values = getattr(rolling, stat)().reset_index(level=0, drop=True)
                out[f"{column} {stat} of last {window}"] = values.where(counts >= window - 1)
        out[f"{column} change"] = ordered[column] - shifted
    out["days since previous"] = groups["day"].diff().dt.total_seconds() / 86_400
    new = pd.DataFrame(out, index=ordered.index)
    new["day (day of week)"] = ordered["day"].dt.day_of_week.astype(float)
    new["day (month)"] = ordered["day"].dt.month.astype(float)
    return pd.concat([frame, new.loc[frame.index]], axis=1)


def with_polars(frame):
    import pandas as pd
    import polars as pl

    table = pl.from_pandas(frame).with_row_index("row").sort(["unit", "day"], maintain_order=True)
    position = pl.int_range(pl.len()).over("unit")
    exprs = []
    for column in COLUMNS:
        value = pl.col(column)
        for lag in LAGS:
            exprs.append(value.shift(lag).over("unit").alias(f"{column} lag {lag}"))
        for window in WINDOWS:
            for stat in STATS:
                rolled = getattr(value, f"rolling_{stat}")(window, min_samples=1).over("unit")
                exprs.append(pl.when(position >= window - 1).then(rolled).alias(f"{column} {stat} of last {window}"))
        exprs.append((value - value.shift(1).over("unit")).alias(f"{column} change"))
    since = pl.col("day").diff().over("unit").dt.total_microseconds() / 86_400e6
    exprs += [
        since.alias("days since previous"),
        (pl.col("day").dt.weekday() - 1).cast(pl.Float64).alias("day (day of week)"),
        pl.col("day").dt.month().cast(pl.Float64).alias("day (month)"),
    ]
    out = table.with_columns(exprs).sort("row").drop("row")
    return out.to_pandas(use_pyarrow_extension_array=False).set_index(pd.RangeIndex(len(frame)))


def time_best(fn, frame, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(frame)
        best = min(best, time.perf_counter() - start)
    return best, result


def same(a, b, columns) -> bool:
    import numpy as np

    return all(
        np.allclose(a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float), rtol=1e-9, atol=1e-8, equal_nan=True)
        for c in columns
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import core.time_features  # noqa: F401  (imported before timing: scikit-learn takes seconds to import)

    frame = make_table(args.rows, args.entities)
    print(f"{len(frame):,} rows x {args.entities} entities, rows shuffled; best of {args.repeat}")
    ours_s, ours_out = time_best(ours, frame, args.repeat)
    hand_s, hand_out = time_best(by_hand, frame, args.repeat)
    new = [c for c in ours_out.columns if c not in frame.columns]
    print(f"{len(new)} new columns; pandas by hand gives the same numbers: {same(ours_out, hand_out, new)}")
    print(f"{'PastFeatures.fit_transform':34s} {ours_s:7.2f} s  {ours_s / hand_s:5.2f}x")
    print(f"{'pandas groupby shift/rolling':34s} {hand_s:7.2f} s  1.00x (reference)")
    try:
        polars_s, polars_out = time_best(with_polars, frame, args.repeat)
    except ImportError:
        print("polars: not installed")
    else:
        print(f"{'polars shift/rolling over entity':34s} {polars_s:7.2f} s  {polars_s / hand_s:5.2f}x"
              f"  (same numbers: {same(ours_out, polars_out, new)})")  # fmt: skip
    print(f"goal: PastFeatures <= 2x pandas by hand: {'met' if ours_s <= 2 * hand_s else 'NOT met'}")


if __name__ == "__main__":
    main()
