"""core.guards: the leakage scan and the after-training checks, on tables that must and must not trigger them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.cleaning import CleaningPlan
from core.guards.findings import Level
from core.guards.leakage import column_codes, name_signal, scan, scan_table
from core.guards.model_checks import importance_share, model_findings, model_power
from core.guards.thresholds import THRESHOLDS
from core.samples import list_samples, load_sample
from core.schema import Role, effective_roles, infer_roles
from core.target import Task, default_features, detect_task
from core.training import ModelRun, TrainedModel, run_training
from tests.conftest import make_training_request


def roles_of(frame: pd.DataFrame) -> dict[str, Role]:
    return effective_roles(infer_roles(frame), {})


def features_of(frame: pd.DataFrame, target: str) -> list[str]:
    roles = roles_of(frame)
    return [c for c, (use, _) in default_features(list(frame.columns), roles, target).items() if use]


def table_scan(frame: pd.DataFrame, target: str, task: Task | None = None):
    task = task or detect_task(frame, target).task
    return scan_table(frame, target, task, features_of(frame, target), roles_of(frame))


def loan_defaults(n: int = 1_300, seed: int = 0) -> pd.DataFrame:
    """Loans: default depends on amount/income; 'recoveries' is only recorded after a default."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50_000, 12_000, n).round(-2)
    amount = rng.normal(10_000, 3_000, n).round(-1)
    default = ((amount / income) * 3 + rng.normal(0, 0.5, n) > 1.0).astype(int)
    return pd.DataFrame(
        {
            "income": income,
            "amount": amount,
            "purpose": rng.choice(["car", "home", "study", "travel"], n),
            "recoveries": np.where(default == 1, rng.gamma(2, 400, n).round(2), 0.0),
            "default": default,
        }
    )


def loan_rates(n: int = 1_300, seed: int = 0) -> pd.DataFrame:
    """Loans: the interest rate to predict, a credit band cut from that very rate, and honest inputs."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(10_000, 3_000, n).round(-1)
    income = rng.normal(50_000, 12_000, n).round(-2)
    rate = 8 + 6 * amount / income + rng.gamma(2, 1.0, n)
    bands = pd.qcut(rate, 35, labels=False)
    return pd.DataFrame(
        {
            "amount": amount,
            "income": income,
            "sub_grade": [f"{'ABCDEFG'[b // 5]}{b % 5 + 1}" for b in bands],
            "int_rate": rate.round(2),
        }
    )


# --------------------------------------------------------------------------- the scan


def test_a_column_recorded_after_the_outcome_is_a_likely_leak_with_plain_evidence():
    result = table_scan(loan_defaults(), "default")
    flagged = {f.column: f for f in result.findings}
    assert set(flagged) == {"recoveries"}, "only the leaked column is flagged"
    finding = flagged["recoveries"]
    assert finding.level == Level.LEAK
    assert "explains 9" in finding.evidence and "'default'" in finding.evidence
    assert "recorded after the outcome" in finding.evidence
    assert "Untick 'recoveries'" in finding.fix
    assert result.power["recoveries"] > THRESHOLDS.power_leak > result.power["income"]


def test_a_category_whose_levels_pin_the_target_is_flagged_and_honest_inputs_are_not():
    result = table_scan(loan_rates(), "int_rate", Task.REGRESSION)
    flagged = {f.column: f for f in result.findings}
    assert set(flagged) == {"sub_grade"}
    assert flagged["sub_grade"].level == Level.LEAK
    assert "35 values each pin 'int_rate' to a narrow range" in flagged["sub_grade"].evidence


def test_a_monotone_transform_of_a_numeric_target_is_a_near_copy():
    frame = loan_rates()
    frame["rate_index"] = np.log(frame["int_rate"]) * 100 + 3
    result = table_scan(frame.drop(columns="sub_grade"), "int_rate", Task.REGRESSION)
    finding = result.flagged("rate_index")
    assert finding is not None and finding.level == Level.LEAK and finding.check == "copy"
    assert "rank correlation +1.000" in finding.evidence


def test_a_strong_but_honest_column_is_worth_a_look_only_with_a_telling_name():
    rng = np.random.default_rng(3)
    n = 2_000
    signal = rng.normal(size=n)
    y = (signal + rng.normal(scale=0.35, size=n) > 0).astype(int)
    frame = pd.DataFrame({"signal": signal, "noise": rng.normal(size=n), "y": y})
    plain = table_scan(frame, "y")
    assert plain.findings == [], "a strong column alone is not a leak"
    assert THRESHOLDS.named_power_look <= plain.power["signal"] < THRESHOLDS.power_look
    named = table_scan(frame.rename(columns={"signal": "final_payment"}), "y")
    assert [(f.column, f.level) for f in named.findings] == [("final_payment", Level.LOOK)]
    assert "recorded after the outcome" in named.findings[0].evidence


def test_a_telling_name_alone_is_never_a_finding():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"total_payment": rng.normal(size=500), "x": rng.normal(size=500)})
    frame["y"] = (frame["x"] + rng.normal(size=500) > 0).astype(int)
    assert table_scan(frame, "y").findings == []


def test_missing_values_that_only_occur_with_one_class_are_seen():
    frame = loan_defaults()
    days = np.random.default_rng(5).integers(0, 300, len(frame))
    frame["days_to_collection"] = np.where(frame["default"] == 1, days, np.nan)
    finding = table_scan(frame.drop(columns="recoveries"), "default").flagged("days_to_collection")
    assert finding is not None and finding.level == Level.LEAK
    assert finding.evidence.startswith("Whether 'days_to_collection' is filled in or empty tells 'default' apart")


def test_the_scan_uses_training_rows_only():
    """A column that gives the answer away only on the rows outside the training split is not seen."""
    frame = loan_defaults(n=1_000)
    rows = frame.reset_index(drop=True)
    train = rows.iloc[:700]
    leaked = np.where(np.arange(len(rows)) >= 700, rows["default"] * 1000.0, 0.0)
    rows = rows.assign(later=leaked).drop(columns="recoveries")
    result = scan(rows.iloc[train.index], "default", Task.BINARY, ["income", "amount", "later"], roles_of(rows))
    assert result.rows == 700 and result.flagged("later") is None


def test_text_columns_are_skipped_and_said_so():
    frame = loan_defaults(n=300)
    frame["note"] = [f"a long free text note about this loan number {i}" for i in range(len(frame))]
    roles = roles_of(frame)
    assert roles["note"] == Role.TEXT
    result = scan(frame, "default", Task.BINARY, ["income", "note"], roles)
    assert result.skipped == ["note"] and "note" not in result.power


def test_clustering_and_tiny_tables_give_an_empty_scan():
    frame = loan_defaults(n=8)
    assert scan_table(frame, None, Task.CLUSTERING, ["income"], roles_of(frame)).findings == []
    assert scan_table(frame, "default", Task.BINARY, ["income"], roles_of(frame)).rows == 0


def test_numbers_are_binned_with_point_masses_kept_apart():
    values = pd.Series([0.0] * 60 + list(np.linspace(1, 100, 40)) + [np.nan] * 5)
    codes = column_codes(values)
    assert len(set(codes[:60])) == 1 and codes[0] not in codes[60:100], "the zeros form a bin of their own"
    assert len(set(codes[100:])) == 1 and codes[100] not in codes[:100], "missing values form a bin of their own"


def test_names_that_suggest_the_outcome_or_contain_the_target():
    assert "recorded after the outcome" in name_signal("total_rec_pymnt", "default")
    assert "contains the target's name" in name_signal("price_per_sqm", "price")
    assert name_signal("annualIncome", "default") is None
    assert name_signal("last_service_days", "failure") is None


@pytest.mark.parametrize("sample", [s.key for s in list_samples()])
def test_no_bundled_sample_is_flagged(sample):
    spec = next(s for s in list_samples() if s.key == sample)
    frame = load_sample(sample).frame
    assert table_scan(frame, spec.target).findings == []


def test_the_scan_is_seeded():
    first, second = table_scan(loan_defaults(), "default"), table_scan(loan_defaults(), "default")
    assert first.power == second.power


# --------------------------------------------------------------------------- after training


def train(frame: pd.DataFrame, target: str, task: Task, models: list[str]):
    request = make_training_request(frame, target, task, models=models, seed=1)
    return request, [r for r in run_training(request) if isinstance(r, TrainedModel)]


def test_a_model_that_leans_on_a_leaked_column_with_a_near_perfect_score_is_a_likely_leak():
    frame = loan_rates().drop(columns="sub_grade")
    frame["rate_copy"] = frame["int_rate"] * 1.01
    request, results = train(frame, "int_rate", Task.REGRESSION, ["ridge"])
    ridge = next(r for r in results if r.key == "ridge")
    assert ridge.scores["r2"] > 0.99
    findings = model_findings(ridge, request)
    assert [(f.column, f.level, f.check) for f in findings] == [("rate_copy", Level.LEAK, "importance")]
    assert "near perfect" in findings[0].evidence and "untick it on the Target page" in findings[0].fix


def test_an_honest_model_with_one_strong_column_is_not_flagged():
    frame = loan_defaults().drop(columns="recoveries")
    request, results = train(frame, "default", Task.BINARY, ["logistic_regression"])
    model = next(r for r in results if r.key == "logistic_regression")
    assert model_findings(model, request) == []


def test_the_training_job_checks_the_best_model_after_the_run():
    from core.training import TrainingJob

    models = [ModelRun("logistic_regression", "logistic")]
    request = make_training_request(loan_defaults(n=600), "default", Task.BINARY, models=models, seed=1)
    assert request.leakage.flagged("recoveries") is not None, "the request carries the scan of its training rows"
    job = TrainingJob(request).start()
    assert job.wait(60)
    deadline = __import__("time").time() + 30
    while job.checking and __import__("time").time() < deadline:
        __import__("time").sleep(0.05)
    best = next(r for r in job.snapshot().results if isinstance(r, TrainedModel) and r.key != "baseline")
    assert best.checks is not None and not job.checking


def test_model_power_is_zero_for_the_baseline_and_one_for_a_perfect_model():
    y = pd.Series(["a", "b", "a", "b"])
    assert model_power({"log_loss": np.log(2)}, Task.BINARY, y) == pytest.approx(0.0)
    assert model_power({"log_loss": 0.0}, Task.BINARY, y) == pytest.approx(1.0)
    assert model_power({"r2": 0.5}, Task.REGRESSION, None) == 0.5
    share = importance_share(pd.DataFrame({"column": ["a", "b", "c"], "importance_mean": [0.6, 0.3, -0.1]}))
    assert share == ("a", pytest.approx(2 / 3))


def test_the_report_and_the_model_card_repeat_the_findings_and_the_rows_lost():
    from core.model_card import card_markdown
    from core.predict import usable_from_training
    from core.report import caveats, run_report

    frame = loan_defaults(n=600)
    frame.loc[:99, "default"] = np.nan  # 100 of 600 rows without a target: more than 5 %
    plan = CleaningPlan(confirmed_row_loss=100)
    models = [ModelRun("logistic_regression", "logistic")]
    request = make_training_request(frame, "default", Task.BINARY, models=models, plan=plan, seed=1)
    results = [r for r in run_training(request) if isinstance(r, TrainedModel)]
    model = results[-1]
    notes = caveats(request, model, results, test_scores=None, test_looks=0)
    assert notes[0].startswith("Dropping rows without a target drops 100 of 600 rows (17%)")
    assert any(n.startswith("'recoveries' (likely leak)") for n in notes)
    page = run_report(request, results, model, "loans.csv")
    assert "&#x27;recoveries&#x27; (likely leak)" in page
    card = usable_from_training(model, request, "loans.csv").card
    assert card["ranking_metric"] == request.metric
    assert any("'recoveries' (likely leak)" in w for w in card["warnings"])
    assert "## Warnings" in card_markdown(card)


def test_an_honest_strong_column_the_scan_found_worth_a_look_is_not_escalated_by_training():
    """A house's area explains most of its price, and the model leans on it: worth a look at most, never red."""
    rng = np.random.default_rng(8)
    n = 1_500
    sqft = rng.uniform(40, 300, n)
    frame = pd.DataFrame({"sqft": sqft, "rooms": rng.integers(1, 6, n), "age": rng.integers(0, 80, n)})
    frame["price"] = 3_000 * sqft + 2_000 * frame["rooms"] + rng.normal(0, 60_000, n)
    request, results = train(frame, "price", Task.REGRESSION, ["ridge"])
    assert [(f.column, f.level) for f in request.leakage.findings] == [("sqft", Level.LOOK)]
    ridge = next(r for r in results if r.key == "ridge")
    assert ridge.scores["r2"] < THRESHOLDS.too_good
    findings = model_findings(ridge, request)
    assert [(f.column, f.level) for f in findings] == [("sqft", Level.LOOK)]


def test_a_lookup_category_says_how_many_rows_its_value_decides_and_that_a_lookup_may_stay():
    rng = np.random.default_rng(9)
    countries = {f"country {i}": ("Europe", "Asia", "Africa")[i % 3] for i in range(60)}
    names = rng.choice(list(countries), 1_200)
    frame = pd.DataFrame({"country": names, "gdp": rng.normal(size=1_200)})
    frame["continent"] = [countries[c] for c in names]
    frame.loc[:29, "continent"] = "Europe"  # a few rows break the rule
    finding = table_scan(frame, "continent", Task.MULTICLASS).flagged("country")
    assert finding is not None
    assert "of the rows, its value alone gives the class of 'continent'" in finding.evidence
    assert "each pin" not in finding.evidence, "not every value pins one class"
    assert finding.level != Level.LEAK or "a lookup" in finding.fix
