"""Files bigger than memory: exact counts from a lazy scan, seeded bounded samples, stratified training samples,
the server's data folder, and the pages saying what is a sample of what."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.big_files import SampleOf, ScratchDir, data_files, resolve_data_file, sample_of
from core.errors import DataLoadError
from core.load_options import LoadOptions
from core.loading.lazy import open_big, training_sample
from core.profiling import profile
from core.schema import effective_roles, infer_roles
from ui import state


def messy_frame(rows: int = 3_000, seed: int = 1) -> pd.DataFrame:
    """Numbers, a category with commas and quotes, a date, text with line breaks, ~10 % missing, a 20 % class."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "amount": rng.normal(100, 20, rows).round(2).astype(object),
            "city": rng.choice(["Paris", "Nice, Sud", 'say "hi"', "Lyon"], rows).astype(object),
            "when": pd.date_range("2020-01-01", periods=rows, freq="h").strftime("%Y-%m-%d").astype(object),
            "note": rng.choice(["two\nlines", "plain", "x"], rows).astype(object),
            "y": rng.choice(["yes", "no"], rows, p=[0.2, 0.8]),
        }
    )
    for name in ("amount", "city", "when", "note"):
        frame.loc[rng.random(rows) < 0.1, name] = None
    frame.loc[rng.random(rows) < 0.02, "amount"] = "NA"
    return frame


@pytest.fixture
def messy_csv(tmp_path):
    path = tmp_path / "messy.csv"
    messy_frame().to_csv(path, index=False)
    return path


def test_exact_counts_equal_pandas_reading_the_whole_file(messy_csv):
    ds = open_big(str(messy_csv), "messy.csv", max_rows=500, seed=3)
    whole = pd.read_csv(messy_csv)  # empty cells and 'NA' are missing for pandas too
    assert ds.big.rows == len(whole) == 3_000
    assert ds.big.missing == {name: int(n) for name, n in whole.isna().sum().items()}
    prof = profile(ds.frame, effective_roles(infer_roles(ds.frame), {}), big=ds.big)
    assert prof.n_rows == 3_000 and prof.missing_cells == int(whole.isna().sum().sum())
    assert prof.column("amount").missing == int(whole["amount"].isna().sum())
    assert "all 3,000 rows" in prof.scope_note and "sample of 500 rows" in prof.scope_note


def test_sample_is_seeded_bounded_and_typed_like_a_normal_load(messy_csv):
    first = open_big(str(messy_csv), "messy.csv", max_rows=500, seed=3)
    again = open_big(str(messy_csv), "messy.csv", max_rows=500, seed=3)
    other = open_big(str(messy_csv), "messy.csv", max_rows=500, seed=4)
    assert first.n_rows == 500 and first.frame.equals(again.frame)
    assert not first.frame["id"].equals(other.frame["id"])
    assert first.frame["id"].is_monotonic_increasing  # in file order
    assert pd.api.types.is_float_dtype(first.frame["amount"])
    assert pd.api.types.is_datetime64_any_dtype(first.frame["when"])
    assert (first.frame["note"] == "two\nlines").any()  # quoted line breaks survive the sample
    assert sample_of(first.frame) == SampleOf(500, 3_000, 3)
    assert any("Read lazily" in n for n in first.report.notices)


def test_stratified_sample_keeps_class_shares(tmp_path):
    frame = messy_frame(6_000, seed=2)
    frame["y"] = np.where(np.arange(6_000) < 300, "rare", frame["y"])  # 5 %, all at the top of the file
    path = tmp_path / "strata.csv"
    frame.to_csv(path, index=False)
    big = open_big(str(path), "strata.csv", max_rows=600, seed=0).big
    drawn = training_sample(big, "y", stratify=True, max_rows=600)
    whole = frame["y"].value_counts(normalize=True)
    shares = drawn.frame["y"].value_counts(normalize=True)
    assert abs(len(drawn.frame) - 600) <= 3
    for label, share in whole.items():
        assert abs(shares[label] - share) < 0.005, label
    assert drawn.big.sample.by == "y"
    assert "a stratified sample by 'y'" in drawn.big.sample.note()
    again = training_sample(big, "y", stratify=True, max_rows=600)
    assert drawn.frame["id"].equals(again.frame["id"])


def test_training_request_and_caveats_say_what_was_trained_on(messy_csv):
    from core.cleaning import CleaningPlan
    from core.guards.caveats import run_warnings
    from core.split import SplitConfig
    from core.target import Task
    from core.training import ModelRun, TrainSetup, make_request

    big = open_big(str(messy_csv), "messy.csv", max_rows=500, seed=3).big
    drawn = training_sample(big, "y", stratify=True, max_rows=400)
    roles = effective_roles(infer_roles(drawn.frame), {})
    setup = TrainSetup(SplitConfig(), [ModelRun("baseline", "Baseline", {})], budget=0)
    request = make_request(drawn.frame, "y", Task.BINARY, ["amount", "city"], roles, CleaningPlan(), setup)
    lines = run_warnings(request, SimpleNamespace(checks=None, budget_note="", name="Baseline"))
    assert lines[0].startswith("Trained on 400 of 3,000 rows (a stratified sample by 'y')")


def test_files_outside_the_data_folder_are_refused(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "sales.csv").write_text("a,b\n1,2\n")
    (tmp_path / "secret.csv").write_text("x\n1\n")
    os.symlink(tmp_path / "secret.csv", folder / "link.csv")
    assert [f.name for f in data_files(str(folder))] == ["sales.csv"]  # the link leading out is not offered
    assert resolve_data_file(str(folder), "sales.csv") == (folder / "sales.csv").resolve()
    for name in ("../secret.csv", "link.csv", str(tmp_path / "secret.csv"), "sub/../../secret.csv", ".."):
        with pytest.raises(DataLoadError):
            resolve_data_file(str(folder), name)
    with pytest.raises(DataLoadError, match="no data folder"):
        resolve_data_file("", "sales.csv")


def test_scratch_folder_goes_with_its_owner(tmp_path):
    scratch = ScratchDir(str(tmp_path))
    kept, dropped = scratch.write(b"a\n1\n"), scratch.write(b"b\n2\n")
    scratch.keep_only({kept})
    assert os.path.exists(kept) and not os.path.exists(dropped)
    folder = scratch.path
    del scratch  # a session's state cleared when it ends
    assert not os.path.exists(folder)


def test_a_file_in_another_encoding_is_converted_a_chunk_at_a_time(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("ville;montant\nBéziers;1,5\nSète;2,5\n\nÉvry;\n".encode("cp1252"))
    scratch = ScratchDir(str(tmp_path))
    ds = open_big(str(path), "latin.csv", LoadOptions(), scratch=scratch)
    assert ds.big.rows == 4 and ds.big.missing == {"ville": 1, "montant": 2}
    assert set(ds.frame["ville"].dropna()) == {"Béziers", "Sète", "Évry"}
    assert ds.frame["montant"].tolist()[:2] == [1.5, 2.5]
    with pytest.raises(DataLoadError, match="UTF-8"):
        open_big(str(path), "latin.csv")  # no scratch folder to convert into: said, with the fix


def test_pages_say_which_figures_are_exact_and_what_is_trained_on(monkeypatch):
    monkeypatch.setenv("NOCODE_BIG_FILE_MB", "0.01")  # 10 KB: the upload below counts as big
    monkeypatch.setenv("NOCODE_SESSION_MEMORY_MB", "1")  # the smallest sample: 10,000 rows
    frame = messy_frame(20_000, seed=5)
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.file_uploader(key="data_upload").set_value(("big.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "Read lazily" in warnings and "all 20,000 rows" in warnings
    captions = " ".join(c.value for c in at.caption).replace("\\", "")  # shown escaped
    assert "Rows and missing counts: all 20,000 rows of the file" in captions
    assert at.session_state[state.SOURCE].path is not None and at.session_state[state.RAW] is None
    at.switch_page("pages/target.py").run()
    at.selectbox(key=f"target_column_{at.session_state[state.VERSION]}").set_value("y").run()
    at.button(key="target_confirm").click().run()
    at.switch_page("pages/clean.py").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Working on 10,000 of 20,000 rows (a stratified sample by 'y')" in captions
    table = at.session_state[state.DATASET].frame
    assert len(table) == 10_000
    assert abs((table["y"] == "yes").mean() - (frame["y"] == "yes").mean()) < 0.002
    monkeypatch.setenv("NOCODE_SESSION_MEMORY_MB", "4096")  # 1 MB would refuse the run (core.admission)
    at.switch_page("pages/models.py").run()
    at.multiselect(key="models_chosen").set_value(["logistic_regression"]).run()
    at.button(key="models_train").click().run()
    assert at.session_state[state.JOB].wait(120)
    at.switch_page("pages/results.py").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Trained on 10,000 of 20,000 rows (a stratified sample by 'y')" in captions
    request = at.session_state[state.JOB].request
    assert request.sample_of == SampleOf(10_000, 20_000, 0, "y")


def test_the_data_folder_setting_and_the_limits_in_words(tmp_path):
    from core import server_settings
    from core.big_files import limits_words

    assert server_settings.DATA_DIR.value({"NOCODE_DATA_DIR": str(tmp_path)}) == str(tmp_path)
    assert server_settings.DATA_DIR.value({"NOCODE_DATA_DIR": str(tmp_path / "nope")}) == ""
    assert "not a folder" in " ".join(server_settings.problems({"NOCODE_DATA_DIR": str(tmp_path / "nope")}))
    words = limits_words(8000, 200, 24_000)
    assert "Uploads up to 8,000 MB" in words and "--server.maxUploadSize 8000" in words
    assert "about 67.1 GB of memory read whole, about 1.6 GB read lazily; this machine has 25.2 GB" in words


def test_a_file_of_the_servers_data_folder_opens_from_the_data_page(tmp_path, monkeypatch):
    (tmp_path / "export.csv").write_text(messy_frame(12_000, seed=6).to_csv(index=False))
    monkeypatch.setenv("NOCODE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NOCODE_BIG_FILE_MB", "0.01")
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    assert any("export.csv" in t.value for t in at.text)
    at.button(key="data_server_0").click().run()
    assert not at.exception
    src, ds = at.session_state[state.SOURCE], at.session_state[state.DATASET]
    assert src.kind == "server" and src.path == str((tmp_path / "export.csv").resolve())
    assert ds.big.rows == 12_000 and ds.n_rows == 12_000  # every row fits the session's memory
    assert any("Read lazily" in w.value for w in at.warning)
