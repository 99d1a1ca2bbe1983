"""Scoring a whole file in chunks (core.scoring): the same predictions as the whole table, problems counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.loading import load_file
from core.predict import check_batch, predict_frame, usable_from_training
from core.scoring import RowsScored, partial_path, score_file
from core.training import run_training
from tests.conftest import make_training_request


def _train(target: str, model: str):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50, 10, n).round(2),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "joined": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        }
    )
    frame["spend"] = (frame["income"] * 2 + rng.normal(0, 3, n)).round(2)
    frame["churn"] = np.where(frame["income"] + rng.normal(0, 5, n) > 50, "yes", "no")
    data = load_file(frame.to_csv(index=False).encode(), "train.csv")
    features = ["age", "income", "city", "joined"]
    request = make_training_request(data.frame, target, models=[model], features=features)
    trained = next(m for m in run_training(request) if m.name != "Baseline")
    return usable_from_training(trained, request, "train.csv")


@pytest.fixture(scope="module")
def classifier():
    return _train("churn", "logistic_regression")


@pytest.fixture(scope="module")
def regressor():
    return _train("spend", "ridge")


def _new_rows(rows: int = 2_000) -> pd.DataFrame:
    """Rows to score: income empty in the first 600 rows (many chunks), a city never seen, one age not a number."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "age": rng.integers(18, 80, rows).astype(object),
            "income": rng.normal(50, 10, rows).round(2),
            "city": rng.choice(["Paris", "Lyon", "Nice"], rows).astype(object),
            "joined": pd.date_range("2020-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "note": rng.choice(["=HYPERLINK(1)", "ok", "@cmd", "+1+1"], rows),
        }
    )
    frame.loc[:599, "income"] = np.nan
    if rows > 1_500:
        frame.loc[1_234, "city"] = "Rome"
        frame.loc[1_500, "age"] = "old"
    return frame


def _whole(model, path) -> pd.DataFrame:
    """What the Predict page computes for the file read whole."""
    with open(path, "rb") as fh:
        table = load_file(fh.read(), "new.csv").frame
    aligned, _ = check_batch(table, model.schema)
    return predict_frame(model, aligned)


def _write(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False)
    return path


def _scored(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("which", ["classifier", "regressor"])
def test_chunks_give_the_whole_tables_predictions(which, request, tmp_path):
    model = request.getfixturevalue(which)
    path, out = tmp_path / "new.csv", tmp_path / "new-scored.csv"
    _new_rows().to_csv(path, index=False)
    events: list = []
    report = score_file(model, str(path), str(out), chunk_rows=100, listen=events.append)
    chunks = [e for e in events if isinstance(e, RowsScored)]
    assert len(chunks) > 10, "the file was read in many chunks"
    assert report.rows == 2_000 and not report.partial and out.exists()
    expected, got = _whole(model, path), _scored(out)
    assert len(got) == 2_000
    assert list(got["id"]) == list(range(2_000)), "every row once, in the file's order"
    for column in expected.columns:
        if column == "prediction" and which == "classifier":
            assert list(got[column]) == list(expected[column])
        else:
            np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-9)
    # income, empty in the first 600 rows, is numbers afterwards: the later rows use it
    assert got.loc[600:, "prediction"].nunique() > 1


def test_a_european_file_is_typed_as_the_reader_types_it(classifier, tmp_path):
    """Semicolons, decimal commas and day-first dates: each chunk read as the whole file would be."""
    frame = _new_rows(1_000).drop(columns=["note"])
    frame["income"] = frame["income"].fillna(41.5)  # the reader detects decimal commas from the file's first rows
    frame["joined"] = pd.to_datetime(frame["joined"]).dt.strftime("%d/%m/%Y")  # day first: '13/01/2020'
    path, out = tmp_path / "eu.csv", tmp_path / "out.csv"
    frame.to_csv(path, index=False, sep=";", decimal=",")
    report = score_file(classifier, str(path), str(out), chunk_rows=5)
    assert not report.problems, report.sentences()
    expected = _whole(classifier, path)
    np.testing.assert_allclose(_scored(out)["probability of yes"], expected["probability of yes"], rtol=1e-9)


def test_problem_rows_are_counted_with_examples(classifier, tmp_path):
    path, out = tmp_path / "new.csv", tmp_path / "out.csv"
    _new_rows().to_csv(path, index=False)
    report = score_file(classifier, str(path), str(out), chunk_rows=100)
    problems = {why: found for why, found in report.problems.items()}
    unseen = next(f for why, f in problems.items() if "'city'" in why and "never saw" in why)
    assert unseen.count == 1 and unseen.examples == ["row 1,235: 'Rome'"]
    bad_age = next(f for why, f in problems.items() if "'age'" in why and "not a number" in why)
    assert bad_age.count == 1 and "'old'" in bad_age.examples[0]
    assert report.problem_rows == 2
    assert any("'note'" in line for line in report.sentences()), "the columns the model does not use are named"


def test_rows_with_extra_fields_are_counted_not_fatal(classifier, tmp_path):
    path, out = tmp_path / "ragged.csv", tmp_path / "out.csv"
    lines = ["age,income,city,joined"] + [f"{20 + i % 50},{40 + i % 20},Paris,2020-01-01" for i in range(300)]
    lines[150] += ",surplus"
    path.write_text("\n".join(lines) + "\n")
    report = score_file(classifier, str(path), str(out), chunk_rows=50)
    assert report.rows == 300
    extra = next(f for why, f in report.problems.items() if "more fields" in why)
    assert extra.count == 1 and extra.examples == ["row 150"]


def test_rows_with_fewer_fields_are_counted_with_their_missing_values_empty(classifier, tmp_path):
    path, out = tmp_path / "short.csv", tmp_path / "out.csv"
    lines = ["age,income,city,joined"] + [f"{20 + i % 50},{40 + i % 20},Paris,2020-01-01" for i in range(300)]
    lines[100] = "30,45"  # a row cut short: city and joined missing
    lines[151] += ",surplus"  # in another chunk, a row too long as well (read by the csv module there)
    lines[160] = "31"
    path.write_text("\n".join(lines) + "\n")
    report = score_file(classifier, str(path), str(out), chunk_rows=50)
    assert report.rows == 300
    short = next(f for why, f in report.problems.items() if "fewer fields" in why)
    assert short.count == 2 and short.examples == ["row 100", "row 160"]
    assert report.problem_rows == 3
    scored = _scored(out)
    assert len(scored) == 300 and scored["probability of yes"].notna().all(), "every row still scored"


def test_rows_the_model_cannot_predict_get_empty_predictions(classifier, tmp_path, monkeypatch):
    import core.scoring.predicting as ss
    from core.errors import DashboardError

    real = ss.predict_frame

    def fussy(model, rows):
        if (rows["age"] == 99).any():
            raise DashboardError("ValueError: 99 is out of range")
        return real(model, rows)

    monkeypatch.setattr(ss, "predict_frame", fussy)
    frame = _new_rows(400)
    frame["age"] = frame["age"].where(frame["age"] != 99, 98)
    frame.loc[[10, 250], "age"] = 99
    path, out = tmp_path / "new.csv", tmp_path / "out.csv"
    frame.to_csv(path, index=False)
    report = score_file(classifier, str(path), str(out), chunk_rows=100)
    failed = next(f for why, f in report.problems.items() if "could not predict" in why and "out of range" in why)
    assert failed.count == 2 and failed.examples == ["row 11", "row 251"]
    scored = _scored(out)
    assert len(scored) == 400 and scored["prediction"].isna().sum() == 2
    assert scored.loc[[10, 250], "prediction"].isna().all()


def test_the_output_is_formula_safe(classifier, tmp_path):
    path, out = tmp_path / "new.csv", tmp_path / "out.csv"
    _new_rows(300).to_csv(path, index=False)
    score_file(classifier, str(path), str(out), chunk_rows=100)
    notes = set(_scored(out)["note"])
    assert notes == {"'=HYPERLINK(1)", "ok", "'@cmd", "'+1+1"}
    assert out.read_bytes().startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel reads accents"


def test_stop_leaves_a_file_that_says_it_is_partial(classifier, tmp_path):
    path, out = tmp_path / "new.csv", tmp_path / "new-scored.csv"
    _new_rows().to_csv(path, index=False)
    events: list = []
    report = score_file(
        classifier, str(path), str(out), chunk_rows=100, listen=events.append, should_stop=lambda: len(events) >= 3
    )
    assert report.partial and 0 < report.rows < 2_000
    assert not out.exists(), "no file under the finished name"
    assert report.out_path == partial_path(str(out)) and report.out_path.endswith("-partial.csv")
    assert len(_scored(report.out_path)) == report.rows
    assert "Stopped" in report.sentences()[0] and f"first {report.rows:,} rows" in report.sentences()[0]


def test_stop_before_any_chunk_leaves_no_file(classifier, tmp_path):
    path, out = tmp_path / "new.csv", tmp_path / "out.csv"
    _new_rows(300).to_csv(path, index=False)
    report = score_file(classifier, str(path), str(out), should_stop=lambda: True)
    assert report.partial and report.rows == 0 and report.out_path == ""
    assert list(tmp_path.iterdir()) == [path]


def test_a_file_without_the_models_columns_is_refused_in_words(classifier, tmp_path):
    from core.errors import DashboardError

    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DashboardError, match="None of the file's columns"):
        score_file(classifier, str(path), str(tmp_path / "out.csv"))
    assert list(tmp_path.iterdir()) == [path], "no half-written file is left"


def test_output_folders_are_per_session_and_swept(tmp_path):
    import os
    import time

    from core.scoring import keep_latest, session_folder

    old = session_folder("session-old", str(tmp_path))
    (Path(old) / "a-scored.csv").write_text("x")
    day_ago = time.time() - 25 * 3600
    os.utime(Path(old) / "a-scored.csv", (day_ago, day_ago))
    os.utime(old, (day_ago, day_ago))
    mine = session_folder("session-../mine", str(tmp_path))  # a name cannot leave the root
    assert Path(mine).parent == tmp_path and not Path(old).exists(), "a session gone for a day is swept"
    for i in range(5):
        (Path(mine) / f"{i}-scored.csv").write_text("x")
        os.utime(Path(mine) / f"{i}-scored.csv", (time.time() + i, time.time() + i))
    keep_latest(mine, keep=3)
    assert sorted(p.name for p in Path(mine).iterdir()) == ["2-scored.csv", "3-scored.csv", "4-scored.csv"]


def test_the_predict_page_scores_a_big_upload_in_chunks(classifier, monkeypatch, tmp_path):
    """An upload above the big-file limit is written to disk, scored on the cluster, and its report shown."""
    from dataclasses import replace

    from streamlit.testing.v1 import AppTest

    from ui import state

    monkeypatch.setenv("NOCODE_BIG_FILE_MB", "0.001")  # 1 KB: any upload is "big"
    monkeypatch.setenv("NOCODE_OUTPUT_DIR", str(tmp_path))
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.session_state[state.LOADED_MODELS] = [replace(classifier, origin="a bundle")]  # as if restored from one
    at.switch_page("pages/predict.py").run()
    at.segmented_control(key="predict_view").set_value("A whole file").run()
    rows = _new_rows(300)
    at.file_uploader(key="predict_batch_file").set_value(("new.csv", rows.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert any("scored in chunks" in i.body for i in at.info)
    at.button(key="predict_stream_upload").click().run()
    job = at.session_state[state.STREAM][0]
    assert job.wait(120)
    at.run()
    assert not at.exception
    assert any(f"{len(rows):,} rows scored" in s.body for s in at.success), [s.body for s in at.success]
    [where] = [c.value for c in at.code]
    assert where.startswith(str(tmp_path)) and where.endswith("-new-scored.csv")
    scored = _scored(where)
    assert len(scored) == len(rows) and "'=HYPERLINK(1)" in set(scored["note"])
    assert list(scored["prediction"]) == list(_whole(classifier, _write(rows, tmp_path / "whole.csv"))["prediction"])
    assert at.get("download_button"), "a small scored file is offered as a download"
    assert not any(p.name == "inputs" and any(p.iterdir()) for p in tmp_path.rglob("inputs")), (
        "the upload's copy is gone"
    )


def test_the_predict_page_scores_the_whole_file_behind_a_sample(classifier, monkeypatch, tmp_path):
    """The session's table is a sample of a big file: Predict offers to score every row of that file."""
    from dataclasses import replace

    from streamlit.testing.v1 import AppTest

    from core.big_files import ScratchDir
    from core.loading.lazy import open_big
    from ui import state

    monkeypatch.setenv("NOCODE_OUTPUT_DIR", str(tmp_path))
    path = _write(_new_rows(), tmp_path / "big.csv")
    dataset = open_big(str(path), "big.csv", scratch=ScratchDir())
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.session_state[state.DATASET] = dataset
    at.session_state[state.LOADED_MODELS] = [replace(classifier, origin="a bundle")]
    at.switch_page("pages/predict.py").run()
    at.segmented_control(key="predict_view").set_value("A whole file").run()
    assert not at.exception
    at.button(key="predict_stream_big").click().run()
    assert at.session_state[state.STREAM][0].wait(120)
    at.run()
    assert not at.exception
    assert any("2,000 rows scored" in s.body for s in at.success)
    assert any("'city' has a category the model never saw" in w.value for w in at.warning), "a warning, not small print"
    [where] = [c.value for c in at.code]
    assert list(_scored(where)["prediction"]) == list(_whole(classifier, path)["prediction"])
