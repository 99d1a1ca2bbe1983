"""The architecture's rules, checked: core is a library, and a light one."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit_or_ui():
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & {"streamlit", "ui", "pages"})
        for p in (ROOT / "core").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


#: Portable exports (core/portable) load these only when a file is built or checked.
ONNX_LIBRARIES = ("onnx", "onnxruntime", "skl2onnx", "onnxmltools", "tf2onnx")

#: Modules that run in another program, never in the app: the served model runs inside MLflow's server
#: and its class extends MLflow's, so importing it imports MLflow.
RUN_ELSEWHERE = {"core.served_model"}


def test_importing_every_core_module_loads_no_heavy_library():
    """Every module of core, found by walking the package (not a hand-kept list), imports without the libraries
    that are loaded only when used: TensorFlow, shap, Streamlit, MLflow, skops and the ONNX libraries."""
    code = (
        f"import sys, json, pkgutil, importlib, core\nONNX = {ONNX_LIBRARIES!r}\n"
        "names = sorted(m.name for m in pkgutil.walk_packages(core.__path__, 'core.'))\n"
        f"names = [n for n in names if n not in {sorted(RUN_ELSEWHERE)}]\n"
        "for name in names: importlib.import_module(name)\n"
        "heavy = ('tensorflow', 'keras', 'shap', 'streamlit', 'mlflow', 'skops', *ONNX)\n"
        "print(json.dumps({'modules': len(names), 'loaded': sorted(m for m in heavy if m in sys.modules)}))"
    )
    out = json.loads(
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    )
    assert out["loaded"] == []
    assert out["modules"] + len(RUN_ELSEWHERE) == len(
        [p for p in (ROOT / "core").rglob("*.py") if p != ROOT / "core" / "__init__.py"]
    )


def test_app_entry_does_not_import_heavy_libraries():
    for path in [ROOT / "app.py", *(ROOT / "ui").glob("*.py")]:
        assert not imported_modules(path) & {"tensorflow", "keras", "shap", "mlflow", "skops", *ONNX_LIBRARIES}, path


#: Libraries the first page (Data, with the sidebar) must not load: scikit-learn, TensorFlow, shap
#: and MLflow cost a second or more each at start-up (Dask's client half a second), pandas with numpy and pyarrow about half a
#: second; the page needs none of them until a table is read, modelled, explained or tracked.
HEAVY = (
    "pandas", "numpy", "pyarrow", "polars",
    "sklearn", "scipy", "imblearn", "lightgbm", "tensorflow", "keras", "shap", "mlflow", "skops", "matplotlib",
    "dask", "distributed",
)  # fmt: skip


def test_first_page_loads_no_heavy_library(tmp_path):
    """The Data page of a new session draws without pandas, scikit-learn, TensorFlow, MLflow… (a fresh process)."""
    code = (
        "import sys, json\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "assert at.title[0].value == '1. Data', [t.value for t in at.title]\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}  # a first visit: no runs yet
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_pages_stay_short_and_free_of_modelling_logic():
    for path in (ROOT / "pages").glob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 150, f"{path.name} has {len(lines)} lines"
        assert not imported_modules(path) & {"sklearn", "pandas", "numpy", "tensorflow", "keras"}, path.name


def test_session_keys_are_defined_in_one_place():
    for path in [*(ROOT / "pages").glob("*.py"), ROOT / "app.py"]:
        assert "st.session_state[" not in path.read_text(encoding="utf-8"), path.name


def test_streamlit_keras_reset_hook_is_still_there_and_gets_replaced():
    from streamlit.runtime.scriptrunner import script_runner

    from ui import runtime

    assert runtime.protect_background_training(), "Streamlit moved _clean_problem_modules; see ui/runtime.py"
    assert script_runner._clean_problem_modules is runtime._clean_problem_modules_without_keras
