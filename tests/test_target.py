"""core.target: task detection, warnings, default features."""

import numpy as np
import pandas as pd
import pytest

from core.errors import TargetError
from core.schema import Role
from core.target import (
    TargetChoice,
    Task,
    allowed_tasks,
    default_features,
    detect_task,
    positive_class,
    resolve_positive,
    suggest_target,
    target_warnings,
    validate_task,
)
from tests.conftest import make_training_request


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["spam", "ham", "ham"], Task.BINARY),
        ([0, 1, 1, 0], Task.BINARY),
        ([True, False, True], Task.BINARY),
        (["a", "b", "c", "a"], Task.MULTICLASS),
        ([1, 2, 3, 1, 2, 3], Task.MULTICLASS),
        ([1.5, 2.25, 3.0, 4.0], Task.REGRESSION),
        (list(range(100)), Task.REGRESSION),
    ],
)
def test_detect_task(values, task):
    guess = detect_task(pd.DataFrame({"y": values}), "y")
    assert guess.task == task
    assert guess.reason


def test_no_target_means_clustering():
    assert detect_task(pd.DataFrame({"x": [1]}), None).task == Task.CLUSTERING


def test_empty_target_is_refused():
    with pytest.raises(TargetError, match="no values"):
        detect_task(pd.DataFrame({"y": [np.nan, np.nan]}), "y")


def test_allowed_tasks_and_validation():
    frame = pd.DataFrame({"num": [1, 2, 1, 2], "lab": ["a", "b", "c", "a"]})
    assert allowed_tasks(frame, "num") == [Task.BINARY, Task.MULTICLASS, Task.REGRESSION]
    assert Task.REGRESSION not in allowed_tasks(frame, "lab")
    with pytest.raises(TargetError, match="Regression needs a numeric target"):
        validate_task(frame, "lab", Task.REGRESSION)
    validate_task(frame, "num", Task.REGRESSION)


def test_imbalance_and_missing_target_warnings_give_numbers():
    frame = pd.DataFrame({"y": ["ok"] * 95 + ["fail"] * 5 + [None] * 3})
    messages = [w.message for w in target_warnings(frame, "y", Task.BINARY)]
    assert any("3 rows" in m and "dropped" in m for m in messages)
    assert any("imbalanced" in m and "5.0%" in m for m in messages)


def test_single_class_is_an_error():
    warnings = target_warnings(pd.DataFrame({"y": ["a"] * 10}), "y", Task.BINARY)
    assert warnings[0].level == "error"


def test_regression_target_that_looks_categorical_or_like_an_id():
    cat = target_warnings(pd.DataFrame({"y": [1.0, 2.0, 3.0] * 100}), "y", Task.REGRESSION)
    assert any("category" in w.message for w in cat)
    ids = target_warnings(pd.DataFrame({"y": range(50)}), "y", Task.REGRESSION, Role.ID)
    assert any("ID" in w.message for w in ids)


def test_default_features_untick_ids_constants_and_empties_with_reasons():
    roles = {"id": Role.ID, "x": Role.NUMERIC, "k": Role.CONSTANT, "e": Role.EMPTY, "y": Role.CATEGORICAL}
    out = default_features(list(roles), roles, "y", {"id": "a row number"})
    assert "y" not in out
    assert out["x"][0] is True
    assert out["id"] == (False, "ID-like: a row number")
    assert out["k"][0] is False and out["e"][0] is False


def test_suggest_target_prefers_telling_names():
    roles = {"a": Role.NUMERIC, "price": Role.NUMERIC, "b": Role.CATEGORICAL}
    assert suggest_target(list(roles), roles) == "price"
    assert suggest_target(["a", "b"], roles) == "b"


def test_choice_round_trips():
    choice = TargetChoice("y", Task.BINARY, "two labels", ["a", "b"])
    assert TargetChoice.from_dict(choice.to_dict()) == choice


def test_choice_keeps_the_positive_class_and_reads_old_dicts_without_it():
    choice = TargetChoice("diagnosis", Task.BINARY, "two labels", ["a"], positive="malignant")
    assert TargetChoice.from_dict(choice.to_dict()) == choice
    old = {"target": "y", "task": Task.BINARY.value, "task_reason": "", "features": ["a"]}
    assert TargetChoice.from_dict(old).positive is None
    numpy_label = TargetChoice("y", Task.BINARY, "", ["a"], positive=np.int64(1)).to_dict()
    assert numpy_label["positive"] == 1 and type(numpy_label["positive"]) is int  # JSON-ready


@pytest.mark.parametrize(
    ("values", "positive"),
    [
        (["benign"] * 8 + ["malignant"] * 3, "malignant"),  # the minority class
        (["no"] * 2 + ["yes"] * 9, "yes"),  # a yes-like label wins even when it is the majority
        ([0] * 9 + [1] * 2, 1),
        ([0] * 2 + [1] * 9, 1),  # 1 is "yes"-like
        ([True] * 9 + [False] * 2, True),
        (["ham"] * 9 + ["spam"] * 3, "spam"),
        (["other"] * 3 + ["cat"] * 9, "other"),  # not "whichever sorts second": the minority
        (["b", "a", "b", "a"], "b"),  # a tie: the label sorting last, as scikit-learn's classes_[1]
        ([2, 10, 2, 10], 10),  # numbers sort as numbers
        (["true", "yes", "yes", "true", "yes"], "true"),  # two yes-like labels: the minority
    ],
)
def test_positive_class_rule(values, positive):
    found = positive_class(pd.Series(values))
    assert found == positive and type(found) is type(positive)


def test_positive_class_from_the_labels_alone_and_a_persons_choice():
    assert positive_class(["no", "yes"]) == "yes" and positive_class(["ham", "spam"]) == "spam"
    y = pd.Series(["benign"] * 8 + ["malignant"] * 3)
    assert resolve_positive(y, None) == "malignant"
    assert resolve_positive(y, "benign") == "benign"
    assert resolve_positive(pd.Series([0, 1, 1]), "0") == 0  # matched as text, returned as the data's value
    assert resolve_positive(y, "gone") == "malignant"  # a label no longer in the data: the rule


def test_the_suggested_positive_class_says_why():
    from core.target import class_labels, positive_reason

    assert class_labels(pd.Series([10, 2, 2, None])) == [2, 10]
    assert positive_reason(["benign"] * 3 + ["malignant"]) == "it is the rarer class"
    assert "yes" in positive_reason(["no"] + ["yes"] * 3)
    assert "sorting last" in positive_reason(["a", "b"])


def test_a_training_request_carries_the_positive_class():
    frame = pd.DataFrame({"x": range(40), "diagnosis": ["benign"] * 30 + ["malignant"] * 10})
    rule = make_training_request(frame, "diagnosis", Task.BINARY, features=["x"], seed=1)
    assert rule.positive == "malignant"
    chosen = make_training_request(frame, "diagnosis", Task.BINARY, features=["x"], seed=1, positive="benign")
    assert chosen.positive == "benign"
    multi = make_training_request(frame, "diagnosis", Task.MULTICLASS, features=["x"], seed=1, positive="benign")
    assert multi.positive is None


def test_imbalance_is_judged_against_an_even_share_of_the_classes():
    from core.target import imbalance

    assert imbalance(pd.Series(["a"] * 86 + ["b"] * 14)).share == pytest.approx(0.14)
    assert imbalance(pd.Series(["a"] * 75 + ["b"] * 25)) is None
    ten_even = pd.Series([str(i) for i in range(10)] * 10)
    assert imbalance(ten_even) is None, "ten classes of 10 % each are balanced"
    assert not [
        w for w in target_warnings(pd.DataFrame({"y": ten_even}), "y", Task.MULTICLASS) if "imbalanced" in w.message
    ]
    one_rare = pd.Series(["rare"] * 3 + [str(i) for i in range(9)] * 11)
    assert imbalance(one_rare).label == "rare"


# --------------------------------------------------------------------------- more classes than the data supports


def _errors(frame: pd.DataFrame, task: Task = Task.MULTICLASS) -> list[str]:
    return [w.message for w in target_warnings(frame, "y", task) if w.level == "error"]


def test_five_thousand_classes_are_refused_with_the_reason_and_what_to_do():
    from core.target import MAX_CLASSES, class_limit

    y = pd.Series([f"c{i % 5_000:04d}" for i in range(20_000)], name="y")
    limit = class_limit(y)
    assert limit is not None
    assert "5,000 classes" in limit.problem and f"{MAX_CLASSES:,}" in limit.problem
    assert "group" in limit.fix.lower()
    errors = _errors(pd.DataFrame({"y": y}))
    assert errors == [limit.message], "one error, not a pile of warnings beside it"


def test_too_few_rows_per_class_on_average_is_refused_and_a_number_target_is_pointed_to_regression():
    from core.target import MIN_ROWS_PER_CLASS, class_limit

    y = pd.Series(np.repeat(np.arange(100), 4) * 1.0, name="y")  # 100 classes, 4 rows each
    limit = class_limit(y)
    assert limit is not None and f"{MIN_ROWS_PER_CLASS}" in limit.problem and "4.0 rows per class" in limit.problem
    assert "regression" in limit.fix


def test_mostly_tiny_classes_are_refused_but_a_few_rare_ones_only_warned_about():
    from core.target import MIN_CLASS_ROWS, class_limit

    tail = pd.Series(["big"] * 900 + [f"rare{i}" for i in range(60) for _ in range(2)], name="y")
    limit = class_limit(tail)
    assert limit is not None
    assert f"60 of the 61 classes have fewer than {MIN_CLASS_ROWS} rows" in limit.problem
    assert "training and the validation rows" in limit.problem

    few = pd.DataFrame({"y": ["a"] * 50 + ["b"] * 50 + ["c"] * 50 + ["odd"] * 1})
    assert class_limit(few["y"]) is None
    assert not _errors(few)
    assert any("'odd' has only 1 row" in w.message for w in target_warnings(few, "y", Task.MULTICLASS))


def test_regression_and_clustering_are_never_refused_for_classes():
    frame = pd.DataFrame({"y": np.arange(1_000) * 0.5})
    assert not _errors(frame, Task.REGRESSION)
    assert target_warnings(frame, None, Task.CLUSTERING) == []


def test_training_request_refuses_a_target_with_too_many_classes():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=600), "y": [f"c{i % 300}" for i in range(600)]})
    roles = {"x": Role.NUMERIC, "y": Role.CATEGORICAL}
    with pytest.raises(TargetError, match="300 classes"):
        make_training_request(frame, "y", Task.MULTICLASS, models=["decision_tree_clf"], features=["x"], roles=roles)


def test_a_label_written_as_spaces_is_missing_so_the_target_is_binary():
    from core.loading import load_file

    rows = "".join(f"{i},{label}\n" for i, label in enumerate(["yes", "no", " ", "no", "yes", "  "] * 5))
    frame = load_file(("x,y\n" + rows).encode(), "t.csv").frame
    guess = detect_task(frame, "y")
    assert guess.task == Task.BINARY, guess.reason
    assert any("10 rows" in w.message for w in target_warnings(frame, "y", Task.BINARY))


def test_a_ticked_column_shows_why_it_was_not_read_as_numbers():
    roles = {"price": Role.CATEGORICAL, "x": Role.NUMERIC, "y": Role.CATEGORICAL}
    notes = {"price": "numbers in 90% of the values, but 'unknown' is not a number", "x": None}
    out = default_features(list(roles), roles, "y", {}, notes)
    assert out["price"] == (True, "categorical: numbers in 90% of the values, but 'unknown' is not a number")
    assert out["x"] == (True, "numeric")


def test_a_known_answer_is_recognised_inside_a_longer_name_but_a_feature_is_not():
    from core.target import is_label_name

    # seen in a walk: a sensor log's `fails_within_day` stayed a feature, and the detector explained
    # its most unusual row by the answer itself
    for name in ("failure", "fails_within_day", "is_fraud", "Churned", "defect-found", "label", "target"):
        assert is_label_name(name), name
    for name in ("vibration", "passenger_class", "price", "temperature_c", "label_printer_model", "default_rate"):
        assert not is_label_name(name), name
