"""The tables of ``bench_quality.py``'s suite: bundled, the project's samples, and generated ones.

Every table is available offline: scikit-learn's bundled sets (``load_*``, never ``fetch_*``), the CSVs
in ``sample_data/`` and tables generated here from a fixed seed. The generated ones carry the difficulties
of real tables, each with a signal spread over several columns plus noise (none is separable):

- ``churn``: 12,000 customers, a 5 % minority class, two categoricals with hundreds of levels (most of
  them rare), 30 % of the feature cells missing, and an ID column.
- ``listings``: 8,000 flats for rent, a skewed positive price, a free-text description whose words
  carry part of the price, a neighbourhood with 250 levels, a few missing cells.
- ``wide sensors``: 6,000 runs of a machine with 86 correlated sensor columns (plus two categoricals),
  four imbalanced classes decided by hidden factors, 5 % missing cells.

:data:`TABLES` lists them (``extra`` ones, the house-price generator at 2,930 and 8,000 rows, run only
when named); :func:`load` returns ``(frame, target)``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"


@dataclass(frozen=True)
class Table:
    name: str
    make: str  # function name in this module; it returns (frame, target)
    task: str  # core.target.Task value
    metric: str  # the one metric the table is judged on (a key of core.evaluation.score and a sklearn scorer)
    #: Columns the reference leaves out (identifiers), and the ones it reads as free text.
    ids: tuple[str, ...] = field(default_factory=tuple)
    text: tuple[str, ...] = field(default_factory=tuple)
    source: str = "generated"
    #: Run only when named (``--only``): the tables earlier ``--choice`` figures were measured on.
    extra: bool = False


TABLES = [
    Table("breast cancer", "_breast_cancer", "binary classification", "roc_auc", source="scikit-learn"),
    Table("wine", "_wine", "multiclass classification", "f1_macro", source="scikit-learn"),
    Table("iris", "_iris", "multiclass classification", "f1_macro", source="scikit-learn"),
    Table("digits", "_digits", "multiclass classification", "f1_macro", source="scikit-learn"),
    Table("diabetes", "_diabetes", "regression", "r2", source="scikit-learn"),
    Table("house prices", "_house_prices", "regression", "r2", source="sample_data"),
    Table("spam", "_spam", "binary classification", "roc_auc", text=("message",), source="sample_data"),
    Table(
        "predictive maintenance",
        "_maintenance",
        "binary classification",
        "roc_auc",
        ids=("machine_id",),
        source="sample_data",
    ),
    Table("4 classes imbalanced", "_four_classes", "multiclass classification", "f1_macro"),
    Table("churn", "_churn", "binary classification", "roc_auc", ids=("customer_id",)),
    Table("listings", "_listings", "regression", "r2", text=("description",)),
    Table("wide sensors", "_wide_sensors", "multiclass classification", "f1_macro"),
    Table("house prices 2930", "_houses_2930", "regression", "r2", extra=True),
    Table("house prices 8000", "_houses_8000", "regression", "r2", extra=True),
]
BY_NAME = {t.name: t for t in TABLES}


def load(table: Table | str) -> tuple[pd.DataFrame, str]:
    """The table's rows and its target column."""
    table = BY_NAME[table] if isinstance(table, str) else table
    return globals()[table.make]()


# --------------------------------------------------------------------------- bundled and sample tables


def _bunch(loader: str) -> tuple[pd.DataFrame, str]:
    import sklearn.datasets

    return getattr(sklearn.datasets, loader)(as_frame=True).frame.copy(), "target"


def _breast_cancer():
    return _bunch("load_breast_cancer")


def _wine():
    return _bunch("load_wine")


def _iris():
    return _bunch("load_iris")


def _digits():
    return _bunch("load_digits")


def _diabetes():
    return _bunch("load_diabetes")


def _sample(file: str, target: str) -> tuple[pd.DataFrame, str]:
    return pd.read_csv(SAMPLES / file), target


def _house_prices():
    return _sample("house_prices.csv", "price")


def _spam():
    return _sample("spam.csv", "label")


def _maintenance():
    return _sample("predictive_maintenance.csv", "failure")


def _houses(n: int):
    """``n`` rows of the house-price generator of ``sample_data/generate.py``."""
    sys.path.insert(0, str(SAMPLES))
    from generate import make_house_prices

    return make_house_prices(n), "price"


def _houses_2930():
    return _houses(2930)


def _houses_8000():
    return _houses(8000)


# --------------------------------------------------------------------------- generated tables


def _four_classes():
    """3,000 rows, 4 classes (60/25/10/5 %), 8 informative of 12 columns; seeded."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=3000,
        n_features=12,
        n_informative=8,
        n_redundant=2,
        n_classes=4,
        weights=[0.6, 0.25, 0.1, 0.05],
        class_sep=0.8,
        flip_y=0.02,
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).round(4)
    frame["grade"] = pd.Series(y).map({0: "a", 1: "b", 2: "c", 3: "d"})
    return frame, "grade"


def _zipf_levels(rng: np.random.Generator, n: int, levels: int, prefix: str, exponent: float = 1.1):
    """``n`` draws of ``levels`` labels with Zipf-like frequencies (a few common, most rare), and their codes."""
    weights = 1.0 / np.arange(1, levels + 1) ** exponent
    codes = rng.choice(levels, size=n, p=weights / weights.sum())
    names = np.array([f"{prefix}{i:03d}" for i in rng.permutation(levels)])
    return names[codes], codes


def _intercept_for(score: np.ndarray, share: float) -> float:
    """The intercept that makes the mean of sigmoid(score + b) equal ``share`` (bisection)."""
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        if np.mean(1 / (1 + np.exp(-(score + mid)))) > share:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def _blank(rng: np.random.Generator, frame: pd.DataFrame, columns: list[str], share: float) -> pd.DataFrame:
    """Set ``share`` of the cells of ``columns`` to missing, completely at random."""
    out = frame.copy()
    for column in columns:
        gone = rng.random(len(out)) < share
        values = out[column].astype(object if out[column].dtype.kind in "OSU" else float)
        values[gone] = np.nan
        out[column] = values
    return out


def make_churn(n: int = 12_000, seed: int = 4004) -> pd.DataFrame:
    """Customers of a phone company and whether they left (``churned`` yes/no, about 5 % yes).

    The log-odds add up a contract-by-tenure effect, support calls, price rises, spending relative to the
    plan, a city effect (300 cities) and a product effect (600 product codes, most seen a handful of times),
    plus an unobserved factor; then 30 % of every feature's cells are blanked.
    """
    rng = np.random.default_rng(seed)
    city, city_code = _zipf_levels(rng, n, 300, "city_")
    product, product_code = _zipf_levels(rng, n, 600, "P", exponent=0.9)
    city_effect = rng.normal(0, 0.6, 300)[city_code]
    product_effect = rng.normal(0, 0.8, 600)[product_code]
    contract = rng.choice(["monthly", "one year", "two years"], size=n, p=[0.55, 0.25, 0.2])
    plan = rng.choice(["basic", "plus", "premium", "family"], size=n, p=[0.4, 0.3, 0.15, 0.15])
    tenure = np.round(rng.gamma(2.0, 14.0, n)).clip(1, 120)
    age = np.round(rng.normal(44, 14, n)).clip(18, 90)
    plan_price = pd.Series(plan).map({"basic": 20, "plus": 35, "premium": 60, "family": 75}).to_numpy()
    spend = np.round(plan_price * rng.lognormal(0, 0.35, n), 2)
    calls = rng.poisson(0.6 + 0.02 * np.maximum(0, 60 - age), n)
    price_rise = np.round(rng.choice([0, 0, 0, 5, 10, 15], size=n) + rng.normal(0, 1, n).clip(-1, 1), 1).clip(0)
    last_login = np.round(rng.exponential(12, n))
    payment = rng.choice(["card", "direct debit", "invoice", "voucher"], size=n, p=[0.4, 0.35, 0.2, 0.05])
    data_gb = np.round(rng.lognormal(1.5, 0.9, n), 1)
    region = rng.choice([f"region_{i}" for i in range(12)], size=n)
    monthly = contract == "monthly"
    score = (
        1.2 * monthly * np.exp(-tenure / 18)
        - 0.8 * (contract == "two years")
        + 0.45 * np.minimum(calls, 5)
        + 0.08 * price_rise
        + 0.9 * np.tanh((spend / plan_price - 1.2) * 2)
        + 0.4 * (payment == "voucher")
        + 0.5 * np.log1p(last_login) * monthly
        - 0.01 * (age - 44)
        + city_effect
        + product_effect
        + rng.normal(0, 0.7, n)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-(score + _intercept_for(score, 0.05))))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in rng.permutation(n)],
            "city": city,
            "region": region,
            "product_code": product,
            "contract": contract,
            "plan": plan,
            "payment": payment,
            "tenure_months": tenure,
            "age": age,
            "monthly_spend": spend,
            "data_gb": data_gb,
            "support_calls": calls,
            "price_rise_pct": price_rise,
            "days_since_login": last_login,
        }
    )
    frame = _blank(rng, frame, [c for c in frame.columns if c != "customer_id"], 0.30)
    frame["churned"] = np.where(churned, "yes", "no")
    return frame


_GOOD_WORDS = ["renovated", "balcony", "view", "luxury", "spacious", "terrace", "quiet", "elevator", "parking"]
_BAD_WORDS = ["needs work", "noisy", "small", "ground floor", "no lift", "shared bathroom"]
_FILLER = [
    "bright",
    "flat",
    "close to shops",
    "near the station",
    "kitchen",
    "living room",
    "furnished",
    "wooden floors",
    "pets allowed",
    "available now",
    "cosy",
    "great location",
    "washing machine",
    "students welcome",
]


def make_listings(n: int = 8_000, seed: int = 5005) -> pd.DataFrame:
    """Flats for rent and their monthly ``price`` (euros; right-skewed, always positive).

    log(price) adds area (concave), rooms, a neighbourhood premium (250 neighbourhoods), property type,
    floor, age and the words of the free-text ``description`` (each good or bad word shifts the price),
    plus 25 % lognormal noise. About 8 % of ``year_built``, ``floor`` and ``rating`` are missing.
    """
    rng = np.random.default_rng(seed)
    hood, hood_code = _zipf_levels(rng, n, 250, "hood_", exponent=0.8)
    hood_effect = rng.normal(0, 0.3, 250)[hood_code]
    kind = rng.choice(
        ["flat", "studio", "loft", "house", "room", "penthouse"], size=n, p=[0.5, 0.15, 0.08, 0.12, 0.12, 0.03]
    )
    kind_effect = (
        pd.Series(kind)
        .map({"flat": 0.0, "studio": -0.1, "loft": 0.15, "house": 0.1, "room": -0.5, "penthouse": 0.45})
        .to_numpy()
    )
    area = np.round(rng.lognormal(4.1, 0.45, n) * np.where(kind == "room", 0.35, 1.0)).clip(9)
    rooms = np.maximum(1, np.round(area / 28 + rng.normal(0, 0.7, n))).astype(int)
    year = np.round(rng.uniform(1890, 2024, n))
    floor = rng.integers(0, 12, n)
    rating = np.round(rng.beta(8, 2, n) * 5, 1)
    good = rng.binomial(1, 0.18, (n, len(_GOOD_WORDS)))
    bad = rng.binomial(1, 0.12, (n, len(_BAD_WORDS)))
    good_weights = rng.uniform(0.04, 0.18, len(_GOOD_WORDS))
    bad_weights = rng.uniform(0.05, 0.2, len(_BAD_WORDS))
    descriptions = []
    for i in range(n):
        words = [w for w, on in zip(_GOOD_WORDS, good[i], strict=True) if on] + [
            w for w, on in zip(_BAD_WORDS, bad[i], strict=True) if on
        ]
        words += list(rng.choice(_FILLER, size=rng.integers(2, 6), replace=False))
        rng.shuffle(words)
        descriptions.append(f"{kind[i].capitalize()} with {rooms[i]} rooms: " + ", ".join(words) + ".")
    age = 2024 - year
    log_price = (
        3.1
        + 0.75 * np.log(area)
        + 0.04 * rooms
        + hood_effect
        + kind_effect
        + 0.12 * np.exp(-age / 15)
        + 0.06 * (age > 90)
        + 0.015 * np.minimum(floor, 8) * (kind != "house")
        + 0.05 * (rating - 4)
        + good @ good_weights
        - bad @ bad_weights
        + rng.normal(0, 0.25, n)
    )
    frame = pd.DataFrame(
        {
            "neighbourhood": hood,
            "property_type": kind,
            "area_sqm": area,
            "rooms": rooms,
            "year_built": year,
            "floor": floor,
            "rating": rating,
            "description": descriptions,
        }
    )
    frame = _blank(rng, frame, ["year_built", "floor", "rating"], 0.08)
    frame["price"] = np.round(np.exp(log_price), 0)
    return frame


def make_wide_sensors(n: int = 6_000, seed: int = 6006, sensors: int = 86) -> pd.DataFrame:
    """Runs of a machine: ``sensors`` correlated readings, line and shift, and the run's ``outcome`` (4 classes).

    Ten hidden factors drive the readings (each sensor loads on two or three of them, plus noise); the
    outcome's class scores are non-linear in four of the factors and the line, with priors of about
    55/25/12/8 %. 5 % of the sensor cells are missing.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(0, 1, (n, 10))
    loadings = np.zeros((10, sensors))
    for j in range(sensors):
        picked = rng.choice(10, size=rng.integers(2, 4), replace=False)
        loadings[picked, j] = rng.normal(0, 1, len(picked))
    readings = factors @ loadings + rng.normal(0, 0.8, (n, sensors))
    readings = readings * rng.uniform(0.5, 20, sensors) + rng.uniform(-50, 200, sensors)
    line = rng.choice([f"line_{c}" for c in "ABCDEFGH"], size=n)
    shift = rng.choice(["early", "late", "night"], size=n, p=[0.4, 0.4, 0.2])
    line_effect = rng.normal(0, 0.5, 8)[pd.Series(line).str[-1].map(lambda c: "ABCDEFGH".index(c)).to_numpy()]
    f = factors
    scores = np.column_stack(
        [
            np.zeros(n),
            1.2 * f[:, 0] + 0.8 * np.tanh(2 * f[:, 1]) + line_effect,
            1.0 * f[:, 2] * f[:, 3] + 0.7 * f[:, 1] ** 2 - 0.5 * (shift == "night"),
            1.3 * np.maximum(0, f[:, 0] + f[:, 3] - 0.5) + 0.6 * f[:, 2] + 0.4 * (shift == "night"),
        ]
    ) + rng.gumbel(0, 0.9, (n, 4))
    priors = np.log([0.55, 0.25, 0.12, 0.08])
    scores = scores + priors - scores.mean(axis=0)  # shift each class so the priors set the mix
    outcome = np.array(["ok", "wear", "jam", "overheat"])[np.argmax(scores, axis=1)]
    frame = pd.DataFrame(np.round(readings, 3), columns=[f"s{j:02d}" for j in range(sensors)])
    frame = _blank(rng, frame, list(frame.columns), 0.05)
    frame.insert(0, "shift", shift)
    frame.insert(0, "line", line)
    frame["outcome"] = outcome
    return frame


def _churn():
    return make_churn(), "churned"


def _listings():
    return make_listings(), "price"


def _wide_sensors():
    return make_wide_sensors(), "outcome"
