"""core.codegen: the generated script reproduces the app's validation metrics without the app.

Each case trains one model the way the app does (``make_request`` + ``train_one``), writes the
data file (a sample's CSV, or an Excel workbook made from one) and the generated script to a temporary folder and runs the script in a subprocess
whose ``sys.path`` does not reach this repository, so it cannot import ``core``. The scikit-learn
scripts share one subprocess (one import of pandas and scikit-learn); the Keras one gets its own.

Tolerances: scikit-learn, imbalanced-learn and LightGBM metrics must equal the app's to 1e-9
(they are identical in practice). A Keras network's metrics must agree within 0.05 (absolute):
TensorFlow's float arithmetic is not bit-for-bit repeatable across processes and machines,
although with op determinism and the same seed it usually is identical here.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cleaning import CleaningPlan, MissingRule, OutlierRule
from core.codegen import KERAS_TOLERANCE, CodegenError, loading_code, notebook, script_cells, training_script
from core.codegen.helpers import bound_names
from core.features import FeatureOptions
from core.load_options import LoadOptions
from core.loading import Dataset, LoadReport, load_file, load_path
from core.samples import SAMPLE_DIR, load_sample
from core.schema import Role, effective_roles, infer_roles
from core.split import SplitConfig
from core.target import Task, default_features
from core.time_features import TimeSetup
from core.time_features import split_for as time_split_for
from core.training import ModelRun, TrainSetup, make_request, train_one

ROOT = Path(__file__).resolve().parents[1]
SKLEARN_TOLERANCE = 1e-9


@dataclass
class Case:
    """One model to reproduce."""

    sample: str
    target: str | None
    task: Task
    model: str
    params: dict = field(default_factory=dict)
    plan: CleaningPlan = field(default_factory=CleaningPlan)
    split: SplitConfig = field(default_factory=lambda: SplitConfig(seed=11))
    options: FeatureOptions = field(default_factory=FeatureOptions)
    imbalance: str = "none"
    #: Read from an untidy Excel workbook made from the sample (:func:`untidy_workbook`), not from its CSV.
    workbook: bool = False


def _house_plan(lot_size: str = "drop_column") -> CleaningPlan:
    """Type fixes, missing values by role and by column (a constant; drop the column or the rows), outlier clipping."""
    return CleaningPlan(
        type_fixes={"bedrooms": "category", "bathrooms": "number"},
        missing_by_role={
            "numeric": MissingRule("mean"),
            "categorical": MissingRule("most_frequent"),
            "text": MissingRule("constant", ""),
            "datetime": MissingRule("most_frequent"),
        },
        missing_by_column={"year_built": MissingRule("constant", 1970), "lot_size_sqm": MissingRule(lot_size)},
        outliers=OutlierRule("iqr", "clip", 1.5),
    )


CASES = {
    "logistic_iris": Case("iris", "species", Task.MULTICLASS, "logistic_regression"),
    "forest_cancer_class_weight": Case(
        "breast_cancer", "diagnosis", Task.BINARY, "random_forest_clf", {"n_estimators": 20}, imbalance="class_weight"
    ),
    "hist_boosting_spam_text": Case("spam", "label", Task.BINARY, "hist_gradient_boosting_clf", {"max_iter": 10}),
    "hist_boosting_house_regression": Case(
        "house_prices", "price", Task.REGRESSION, "hist_gradient_boosting_reg", {"max_iter": 20}
    ),
    "lightgbm_smote_outlier_removal": Case(
        "breast_cancer",
        "diagnosis",
        Task.BINARY,
        "lightgbm_clf",
        {"n_estimators": 25, "num_leaves": 7},
        plan=CleaningPlan(outliers=OutlierRule("zscore", "remove", 3.0)),
        imbalance="smote",
    ),
    "svr_house_cleaning_time_split": Case(
        "house_prices",
        "price",
        Task.REGRESSION,
        "svr",
        {"C": 3.0},
        plan=_house_plan(),
        split=SplitConfig(seed=5, time_column="listing_date"),
        options=FeatureOptions(ratios=(("area_sqm", "distance_to_center_km"),)),
    ),
    "kmeans_wine_clustering": Case("wine", None, Task.CLUSTERING, "kmeans", {"n_clusters": 3}),
    "isolation_forest_maintenance_anomaly": Case(
        "predictive_maintenance", None, Task.ANOMALY, "isolation_forest", {"n_estimators": 50}
    ),
    # The Excel path, as the CSV path: numbers and dates written as text, blank-looking cells, an empty row
    # and column, a repeated and an empty column name; ordered in time by the dates the app typed.
    "hist_boosting_house_workbook_time_split": Case(
        "house_prices",
        "price",
        Task.REGRESSION,
        "hist_gradient_boosting_reg",
        {"max_iter": 20},
        split=SplitConfig(seed=3, time_column="listing_date"),
        workbook=True,
    ),
}
KERAS_CASE = Case(
    "iris",
    "species",
    Task.MULTICLASS,
    "keras_mlp",
    {"layers": ({"type": "dense", "units": 8, "activation": "relu"},), "epochs": 4, "batch_size": 16},
)

# Runs each script folder given on the command line in this one process and reports as JSON.
RUNNER = """
import contextlib, importlib.util, io, json, os, runpy, sys, traceback
results = {"core_importable": importlib.util.find_spec("core") is not None, "scripts": {}}
for folder in sys.argv[1:]:
    os.chdir(folder)
    out = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path("reproduce.py", run_name="__main__")
    except BaseException:
        error = traceback.format_exc()
    results["scripts"][folder] = {"stdout": out.getvalue(), "error": error}
print(json.dumps(results))
"""


def _env() -> dict[str, str]:
    """The environment without the repository on the import path."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _request(case: Case, dataset: Dataset, name: str = "Model"):
    """A request built as the app builds it: inferred roles, default features, make_request."""
    roles = effective_roles(infer_roles(dataset.frame), {})
    features = [c for c, (use, _) in default_features(list(dataset.frame.columns), roles, case.target).items() if use]
    run = ModelRun(case.model, name, case.params)
    setup = TrainSetup(case.split, [run], case.options, case.imbalance)
    request = make_request(dataset.frame, case.target, case.task, features, roles, case.plan, setup)
    return request, request.models[-1]


def untidy_workbook(sample: str, path: Path) -> None:
    """A bundled sample as people keep one in Excel: a second sheet; numbers with thousands separators and
    dates written as text; cells of only spaces; an empty row and an empty column; a repeated column name
    and a column without one. The app reads it into a tidy table; the script must read the same."""
    from openpyxl import Workbook

    frame = load_sample(sample).frame
    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    texts = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    dates = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    separated = numbers[0]
    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append([*frame.columns, separated, None, None])  # a repeated name, a column without a name, an empty one
    for i, row in enumerate(frame.to_dict("records")):
        if i == 7:
            sheet.append([None] * (len(frame.columns) + 3))  # an empty row
        cells = []
        for column, value in row.items():
            if pd.isna(value):
                cells.append(None)
            elif column == separated:
                cells.append(f"{float(value) * 10:,.2f}")  # a number written as text, with separators
            elif column in dates:
                cells.append(f"{value:%Y-%m-%d}")  # a date written as text
            elif column in texts and i % 13 == 5:
                cells.append("   ")  # looks empty
            elif column in numbers:
                cells.append(value.item() if hasattr(value, "item") else value)
            else:
                cells.append(value)
        sheet.append([*cells, i % 7, "yes" if i % 3 else None, None])
    book.create_sheet("notes").append(["Made by hand"])
    book.save(path)


def _prepare(case: Case, folder: Path):
    """Write the data and the generated script to ``folder``; return the request and the model to train."""
    folder.mkdir(parents=True, exist_ok=True)
    if case.workbook:
        file_name = f"{case.sample}.xlsx"
        untidy_workbook(case.sample, folder / file_name)
        dataset = load_path(str(folder / file_name))
        found = dataset.report  # what the app tidied and typed, which the script must repeat
        assert found.blank_cells and found.renamed_columns and found.parsed_numbers and found.parsed_dates
    else:
        file_name = f"{case.sample}.csv"
        dataset = load_sample(case.sample)
        shutil.copy(SAMPLE_DIR / file_name, folder / file_name)
    request, run = _request(case, dataset)
    script = training_script(request, run, file_name, report=dataset.report)
    (folder / "reproduce.py").write_text(script, encoding="utf-8")
    return request, run


def _start(command: list[str], cwd: Path) -> subprocess.Popen:
    """Start a script run; the app trains meanwhile (the script needs only the file, not the app's result)."""
    return subprocess.Popen(command, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    return stdout


def parse_metrics(stdout: str) -> dict[str, float]:
    """The ``name: value`` lines of the script's output."""
    found = {}
    for line in stdout.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name.isidentifier():
            try:
                found[name] = float(value)
            except ValueError:
                continue
    return found


def assert_same_metrics(got: dict[str, float], app: dict[str, float], tolerance: float) -> None:
    assert set(got) == set(app), f"metric names differ: {sorted(set(got) ^ set(app))}"
    for name, value in app.items():
        assert got[name] == pytest.approx(value, rel=tolerance, abs=tolerance, nan_ok=True), name


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """Every scikit-learn case: the app's scores and the script's run (one shared subprocess)."""
    root = tmp_path_factory.mktemp("codegen")
    folders = {key: root / key for key in CASES}
    prepared = {key: _prepare(case, folders[key]) for key, case in CASES.items()}
    runner = root / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    process = _start([sys.executable, str(runner), *map(str, folders.values())], root)
    app_scores = {key: train_one(*prepared[key]).scores for key in CASES}
    stdout = _finish(process)
    report = json.loads(stdout.strip().splitlines()[-1])
    return {
        "core_importable": report["core_importable"],
        "app": app_scores,
        "runs": {key: report["scripts"][str(folder)] for key, folder in folders.items()},
        "folders": folders,
    }


# --------------------------------------------------------------------------- reproduction


@pytest.mark.parametrize("key", list(CASES))
def test_the_script_reproduces_the_apps_validation_metrics(reproduced, key):
    assert not reproduced["core_importable"], "the scripts must run where the app cannot be imported"
    run = reproduced["runs"][key]
    assert run["error"] is None, run["error"]
    got = parse_metrics(run["stdout"])
    assert got, run["stdout"]
    assert_same_metrics(got, reproduced["app"][key], SKLEARN_TOLERANCE)


def test_the_script_needs_only_the_libraries_and_copies_just_the_helpers_it_uses(reproduced):
    svr = (reproduced["folders"]["svr_house_cleaning_time_split"] / "reproduce.py").read_text(encoding="utf-8")
    tree = ast.parse(svr)
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "__future__",
        "typing",
        "re",
        "dataclasses",
        "enum",
        "numpy",
        "pandas",
        "sklearn",
        "imblearn",
    }, imported
    defined = {node.name for node in tree.body if isinstance(node, ast.ClassDef | ast.FunctionDef)}
    assert {"TypeFixer", "RatioFeatures", "OutlierClipper", "DateParts", "apply_type_fixes"} <= defined
    # The split is the app's own function, copied, called with the app's settings.
    assert {"make_split", "SplitConfig", "Split", "Task"} <= defined and "def cut(" not in svr
    assert "split = make_split(df, TARGET, Task.REGRESSION, SPLIT_SETTINGS)" in svr
    assert {"KerasNetwork", "remove_outliers", "classification_scores"}.isdisjoint(defined)
    # Parameters are written literally, the person's and the app's.
    assert "SVR(kernel=" in svr and "C=3.0" in svr and "TransformedTargetRegressor(" in svr
    assert 'time_column="listing_date"' in svr and "apply_type_fixes(df, COLUMN_TYPE_FIXES)" in svr
    lightgbm = (reproduced["folders"]["lightgbm_smote_outlier_removal"] / "reproduce.py").read_text(encoding="utf-8")
    assert "SMOTE(random_state=11, k_neighbors=3)" in lightgbm and "FunctionSampler(" in lightgbm
    assert "def remove_outliers(" in lightgbm and "LGBMClassifier(" in lightgbm and "n_estimators=25" in lightgbm
    forest = (reproduced["folders"]["forest_cancer_class_weight"] / "reproduce.py").read_text(encoding="utf-8")
    assert "RandomForestClassifier(" in forest and "n_estimators=20," in forest and "max_depth=None," in forest
    assert 'class_weight="balanced"' in forest and "random_state=11" in forest


def _ruff() -> list[str]:
    """ruff, pinned in requirements-dev.txt, run by this Python: never skipped, wherever the tests run."""
    return [sys.executable, "-m", "ruff"]


def test_generated_scripts_are_ruff_clean(reproduced):
    scripts = [str(folder / "reproduce.py") for folder in reproduced["folders"].values()]
    done = subprocess.run([*_ruff(), "check", "--isolated", *scripts], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_every_model_in_the_registry_can_be_written_as_code(tmp_path):
    """No training: each spec's script must parse and use no undefined or unused names."""
    from core.registry import REGISTRY

    samples = {
        Task.BINARY: ("spam", "label"),
        Task.MULTICLASS: ("iris", "species"),
        Task.REGRESSION: ("diabetes", "disease_progression"),
        Task.CLUSTERING: ("wine", None),
        Task.ANOMALY: ("wine", None),
    }
    datasets = {task: load_sample(sample) for task, (sample, _) in samples.items()}
    scripts = []
    timed = TimeSetup(order="date", entity="region", columns=("temperature_c",))
    demand = load_sample("electricity_demand")
    for key, spec in REGISTRY.items():
        for task in sorted(spec.tasks):
            case = Case(samples[task][0], samples[task][1], task, key, imbalance="class_weight")
            data = datasets[task]
            if spec.needs_time_order:  # a network over the last rows: the temporal sample, in time order
                if task == Task.MULTICLASS:
                    continue  # the sample has no multiclass target but its entity
                target = "demand_mw" if task == Task.REGRESSION else "holiday"
                split = time_split_for(timed, SplitConfig(seed=11))
                case = Case("electricity_demand", target, task, key, split=split, options=FeatureOptions(time=timed))
                data = demand
            script = training_script(*_request(case, data), f"{case.sample}.csv")
            ast.parse(script)
            scripts.append(tmp_path / f"{key}_{task.name.lower()}.py")
            scripts[-1].write_text(script, encoding="utf-8")
    assert len(scripts) >= len(REGISTRY)
    done = subprocess.run(
        [*_ruff(), "check", "--isolated", "--select", "F", *map(str, scripts)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.slow
def test_a_keras_network_is_reproduced_within_the_stated_tolerance(tmp_path):
    request, run = _prepare(KERAS_CASE, tmp_path)
    process = _start([sys.executable, "reproduce.py"], tmp_path)
    app = train_one(request, run).scores
    stdout = _finish(process)
    script = (tmp_path / "reproduce.py").read_text(encoding="utf-8")
    assert "class KerasNetwork(" in script and "stateless_shuffle" in script  # seeded per network, as in the app
    assert "epochs=4" in script and "early_stopping=True" in script and "validation_data=(X_valid_ready" in script
    assert_same_metrics(parse_metrics(stdout), app, KERAS_TOLERANCE)


# --------------------------------------------------------------------------- hostile text


HOSTILE = 'x"); import os; os.system("touch PWNED") #'
HOSTILE_TOO = "'''\"\"\" ; __import__('os').system('touch PWNED2') # {0} \\"
HOSTILE_FILL = 'z"); __import__("os").system("touch PWNED3") #'


def test_hostile_column_names_and_values_stay_harmless_strings(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            HOSTILE: rng.normal(size=n).round(3),
            HOSTILE_TOO: rng.choice(["a", "b", "c"], size=n),
            "line\nbreak": rng.integers(0, 5, size=n),
            "outcome": np.where(rng.normal(size=n) > 0, "yes", "no"),
        }
    )
    frame.loc[::9, HOSTILE_TOO] = None
    frame.to_csv(tmp_path / "hostile.csv", index=False)
    dataset = load_path(str(tmp_path / "hostile.csv"))
    assert HOSTILE in dataset.frame.columns and HOSTILE_TOO in dataset.frame.columns
    plan = CleaningPlan(
        type_fixes={"line\nbreak": "number"}, missing_by_column={HOSTILE_TOO: MissingRule("constant", HOSTILE_FILL)}
    )
    case = Case("hostile", "outcome", Task.BINARY, "logistic_regression", plan=plan)
    request, run = _request(case, dataset, name='Model"""; import os #')
    app = train_one(request, run).scores
    script = training_script(request, run, "hostile.csv", report=dataset.report)
    (tmp_path / "reproduce.py").write_text(script, encoding="utf-8")

    tree = ast.parse(script)
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert {HOSTILE, HOSTILE_TOO, HOSTILE_FILL, "line\nbreak", 'Model"""; import os #'} <= strings
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            assert all(alias.name.split(".")[0] != "os" for alias in node.names)
        assert not (isinstance(node, ast.Attribute) and node.attr == "system")
        assert not (isinstance(node, ast.Name) and node.id == "__import__")

    done = subprocess.run(
        [sys.executable, "reproduce.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert not list(tmp_path.glob("PWNED*"))
    assert_same_metrics(parse_metrics(done.stdout), app, SKLEARN_TOLERANCE)


# --------------------------------------------------------------------------- notebook


def test_the_notebook_holds_the_scripts_code_with_text_cells(reproduced):
    script = (reproduced["folders"]["svr_house_cleaning_time_split"] / "reproduce.py").read_text(encoding="utf-8")
    document = json.loads(notebook(script).decode("utf-8"))
    assert document["nbformat"] == 4 and document["nbformat_minor"] >= 4
    assert document["metadata"]["kernelspec"]["language"] == "python"
    cells = document["cells"]
    assert {c["cell_type"] for c in cells} == {"markdown", "code"}
    for cell in cells:
        assert isinstance(cell["source"], list) and all(isinstance(line, str) for line in cell["source"])
        assert set(cell) >= {"cell_type", "metadata", "source", "id"}
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    assert markdown[0].startswith("# Reproduce a model") and any("## 5. Split" in text for text in markdown)
    assert code[0].startswith("from __future__ import annotations")
    # The code cells, joined, are the script's code: every line that is not a cell marker or cell text.
    kept, in_text = [], False
    for line in script.splitlines():
        if line.startswith("# %%"):
            in_text = line.strip() == "# %% [markdown]"
            continue
        if not in_text and line.strip():
            kept.append(line)
    joined = [line for line in "\n".join(code).splitlines() if line.strip()]
    assert joined == kept
    ast.parse("\n\n".join(code))
    assert [kind for kind, _ in script_cells(script)] == [c["cell_type"] for c in cells]


# --------------------------------------------------------------------------- reading files


TYPICAL_FILES = {
    "semicolon_decimal_comma.csv": b"name;price;qty\nA;1.234,5;3\nB;12,75;NA\nC;7,0;?\n",
    "windows_1252.csv": "city,temp\nZürich,12.5\nMálaga,20.1\nSão Paulo,-\n".encode("cp1252"),
    "utf8_bom.csv": b"\xef\xbb\xbfa,b\n1,x\n2,y\n,z\n",
    "missing_tokens.csv": b"a,b,c\n1,NA,x\n2,3,?\nmissing,4,\n5,none,y\n",
    "repeated_and_empty_names.csv": b"a,a, b ,\n1,2,3,4\n5,6,7,8\n",
    "no_header.csv": b"1,2,3\n4,5,6\n7,8,9\n",
    "tabs_and_quoted_newline.tsv": b'id\ttext\tn\n1\t"line one\nline two"\t3\n2\tplain\t4\n',
    "dates.csv": b"day,at,v\n2022-03-21,2022-03-21 10:15:00,1\n2022-04-01,2022-04-01 00:00:00,2\n",
    "thousands.csv": b'a,b\n"1,234",x\n"12,345",y\n7,z\n',
}


@pytest.mark.parametrize("detected", [True, False], ids=["from-report", "sniffed"])
@pytest.mark.parametrize("name", list(TYPICAL_FILES))
def test_the_loading_code_reads_the_same_table_as_the_app(tmp_path, name, detected):
    data = TYPICAL_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    app = load_file(data, name).frame
    dates = [c for c in app.columns if pd.api.types.is_datetime64_any_dtype(app[c])]
    report: LoadReport | None = load_file(data, name).report if detected else None
    code = loading_code(str(path), report=report, date_columns=dates)
    namespace = {"pd": pd, "np": np, "csv": __import__("csv"), "DATA_FILE": str(path)}
    exec(compile(code, name, "exec"), namespace)
    pd.testing.assert_frame_equal(namespace["df"], app, check_exact=True)


def run_as_module(code: str, monkeypatch, **names) -> dict:
    """Run ``code`` as a module of its own, holding ``names`` first (registered, as a script run is: the
    copied dataclasses look their module up)."""
    module = types.ModuleType("reproduce")
    module.__dict__.update(names)
    monkeypatch.setitem(sys.modules, "reproduce", module)
    exec(compile(code, "reproduce", "exec"), module.__dict__)
    return module.__dict__


def mixed_workbook(path: Path) -> None:
    """A small workbook with what the app tidies and types: a blank-looking cell, numbers stored as text
    with thousands separators, an empty row and an empty column, a repeated, a padded and a missing
    column name, dates written as text (day first, too) and real Excel dates; and a second sheet."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "first"
    sheet.append(["id", "amount", "amount", " region ", None, "when", "day", "stamp", "count", "note", None])
    rows = [
        [1, "1,234.50", 10, "north", "x", "2022-03-01", "13/04/2018", datetime(2022, 3, 1, 10, 30), "5", "  ", None],
        [None] * 11,
        [2, "12,345", 11, "   ", "y", "2022-04-15", "01/05/2018", datetime(2022, 4, 15), "6", "ok", None],
        [3, "7", 12, "south", None, "2022-05-20", "02/06/2018", datetime(2023, 1, 2), "7", "NA", None],
        [4, "-3,000.25", 13, "east", "z", "2022-06-30", "03/07/2018", datetime(2023, 5, 6), "8", "fine", None],
    ]
    for row in rows:
        sheet.append(row)
    second = book.create_sheet("second")
    for row in (["key", "value", "seen"], ["a", "1,000", "2021-01-31"], ["b", "2,500.5", "2021-02-28"]):
        second.append(row)
    book.save(path)


WORKBOOK_OPTIONS = {
    "as-found": LoadOptions(),
    "day-first-own-marker": LoadOptions(day_first=True, missing=("fine",)),
    "no-header": LoadOptions(header=False),
    "second-sheet": LoadOptions(sheet="second"),
}


@pytest.mark.parametrize("detected", [True, False], ids=["from-report", "from-options"])
@pytest.mark.parametrize("option", list(WORKBOOK_OPTIONS))
def test_the_loading_code_reads_a_workbook_as_the_app(tmp_path, monkeypatch, option, detected):
    """The script's table equals the app's, cell for cell and type for type: the app's own tidy-up and typing
    are copied into it, not rewritten."""
    path = tmp_path / "book.xlsx"
    mixed_workbook(path)
    options = WORKBOOK_OPTIONS[option]
    dataset = load_path(str(path), options)
    app = dataset.frame
    if option == "as-found":  # the workbook holds what it should
        assert list(app.columns) == [
            "id",
            "amount",
            "amount.1",
            "region",
            "column_5",
            "when",
            "day",
            "stamp",
            "count",
            "note",
        ]
        assert app["amount"].tolist() == [1234.5, 12345.0, 7.0, -3000.25]
        assert app["region"].isna().tolist() == [False, True, False, False]
        assert app["note"].isna().tolist() == [True, False, True, False]
        assert app["count"].tolist() == [5, 6, 7, 8]
        assert pd.api.types.is_datetime64_any_dtype(app["when"]) and pd.api.types.is_datetime64_any_dtype(app["stamp"])
        assert app["day"].dt.month.tolist() == [4, 5, 6, 7]  # day first, as the app decided
        assert dataset.report.blank_cells and dataset.report.renamed_columns and dataset.report.parsed_numbers
    code = loading_code(str(path), options, report=dataset.report if detected else None)
    assert "def tidy_sheet(" in code and "def type_columns(" in code
    namespace = run_as_module(code, monkeypatch, DATA_FILE=str(path))
    pd.testing.assert_frame_equal(namespace["df"], app, check_exact=True)


def test_the_bundled_samples_read_the_same(tmp_path):
    for sample in ("house_prices", "spam", "predictive_maintenance"):
        dataset = load_sample(sample)
        dates = [c for c in dataset.frame.columns if pd.api.types.is_datetime64_any_dtype(dataset.frame[c])]
        namespace = {"pd": pd, "DATA_FILE": str(SAMPLE_DIR / f"{sample}.csv")}
        exec(loading_code(namespace["DATA_FILE"], report=dataset.report, date_columns=dates), namespace)
        pd.testing.assert_frame_equal(namespace["df"], dataset.frame, check_exact=True)


def test_the_scripts_loading_and_cleaning_give_the_apps_rows(tmp_path, monkeypatch):
    # "Drop rows" is checked here rather than end to end: the app's pipeline cannot train with it yet
    # (core.features hands the strategy to SimpleImputer).
    frame = load_sample("house_prices").frame
    frame = pd.concat([frame, frame.iloc[:5]], ignore_index=True)  # duplicates to drop
    frame.loc[[3, 8], "price"] = np.nan  # rows without a target
    frame.to_csv(tmp_path / "houses.csv", index=False)
    dataset = load_path(str(tmp_path / "houses.csv"))
    case = Case("houses", "price", Task.REGRESSION, "ridge", plan=_house_plan("drop_rows"))
    request, run = _request(case, dataset)
    script = training_script(request, run, str(tmp_path / "houses.csv"), report=dataset.report)
    assert "DROP_ROWS_IF_MISSING" in script and "df = df[~df.duplicated()]" in script
    cells = script_cells(script)
    split = next(i for i, (kind, text) in enumerate(cells) if kind == "markdown" and "## 5. Split" in text)
    namespace = run_as_module("\n\n".join(text for kind, text in cells[:split] if kind == "code"), monkeypatch)
    assert len(namespace["df"]) < len(frame) - 5
    pd.testing.assert_frame_equal(namespace["df"], request.frame, check_exact=True)


def test_the_names_a_script_binds_are_read_from_its_code():
    code = textwrap.dedent(
        """
        import os.path as osp, json
        from x import y as z
        A = 1
        B: int = 2
        C += 1
        D, (E, F) = 1, (2, 3)
        G[0] = 1  # changes G, binds nothing
        H.attr = 1
        for i, (j, k) in []:
            if True:
                deep = 1
        with open(p) as handle, open(q) as (m, n):
            pass
        try:
            pass
        except ValueError as err:
            pass
        if (w := 1):
            pass
        def f(a):
            local = 1
        class K:
            inside = 1
        lam = lambda v: v
        squares = [s * s for s in range(3)]
        """
    )
    imports = {"osp", "json", "z"}
    assigned = {"A", "B", "C", "D", "E", "F", "w", "lam", "squares"}
    blocks = {"i", "j", "k", "deep", "handle", "m", "n", "err"}
    assert bound_names(code) == imports | assigned | blocks | {"f", "K"}


def test_a_helper_that_would_overwrite_a_name_of_the_script_is_refused(monkeypatch):
    """The script's own names are read from its code (no hand-kept list): a helper taking one is refused."""
    from core.codegen import script as script_module

    case = CASES["logistic_iris"]
    request, run = _request(case, load_sample(case.sample))
    assert "make_split" in training_script(request, run, "iris.csv")
    settings = script_module._settings
    monkeypatch.setattr(script_module, "_settings", lambda *args: settings(*args) + "\nmake_split = None")
    with pytest.raises(CodegenError, match="overwrite the script's own names: make_split"):
        training_script(request, run, "iris.csv")


def test_the_same_request_gives_the_same_script():
    case = CASES["svr_house_cleaning_time_split"]
    dataset = load_sample(case.sample)
    first = training_script(*_request(case, dataset), "house_prices.csv", report=dataset.report)
    second = training_script(*_request(case, dataset), "house_prices.csv", report=dataset.report)
    assert first == second
    assert "Role." not in first and repr(Role.NUMERIC) not in first
