"""Benchmark: the pages on wide and odd tables, through Streamlit's AppTest.

Two generated tables (seeded, in memory):

* ``wide``: 300 rows x 2,000 numeric columns and a 0/1 target;
* ``classes``: 20,000 rows, two numbers and a label with 5,000 classes (4 rows each).

For each, one session uploads the file and opens Data, Target, Clean and Models (the
target is put into the session directly, so a refused target still reaches Models),
and the script prints the seconds of each page run, the options the ratio picker
sends to the browser and the legend entries of the split chart: what made the
browser fail (3,998,000 options) or take minutes (5,000 legend entries). AppTest
measures the server side only; the browser's drawing time grows with those counts.

With ``--reference DIR`` (another checkout of the app, e.g. ``git archive <commit> |
tar -x -C DIR``) the same journey runs there too, alternating, and the ratios are printed.

Usage: ``python bench/bench_tables.py [--repeat 1] [--reference DIR]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JOURNEY = r"""
import json, sys, time
sys.path.insert(0, ".")
import numpy as np, pandas as pd
from streamlit.testing.v1 import AppTest
from core.target import TargetChoice, Task
from ui import state

case = sys.argv[1]
rng = np.random.default_rng(0)
if case == "wide":
    values = rng.normal(size=(300, 2000)).round(3)
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(2000)])
    frame["target"] = (values[:, 0] > 0).astype(int)
    choice = TargetChoice("target", Task.BINARY, "bench", [f"x{i}" for i in range(2000)])
else:
    frame = pd.DataFrame({"a": rng.normal(size=20000).round(3), "b": rng.normal(size=20000).round(3),
                          "label": [f"c{i % 5000:04d}" for i in rng.permutation(20000)]})
    choice = TargetChoice("label", Task.MULTICLASS, "bench", ["a", "b"])
data = frame.to_csv(index=False).encode()
at = AppTest.from_file("app.py", default_timeout=1800)
at.run()
out = {}

def timed(name, step):
    started = time.perf_counter()
    step()
    out[name] = round(time.perf_counter() - started, 2)
    assert not at.exception, at.exception

timed("data", lambda: at.file_uploader(key="data_upload").set_value(("t.csv", data, "text/csv")).run())
timed("target", lambda: at.switch_page("pages/target.py").run())
at.session_state[state.TARGET] = choice
timed("clean", lambda: at.switch_page("pages/clean.py").run())
timed("models", lambda: at.switch_page("pages/models.py").run())
out["ratio options"] = len(at.multiselect(key="models_ratios").options)
charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-models_split_chart")]
out["split legend"] = len(json.loads(charts[0].proto.spec)["data"]) if charts else 0
print(json.dumps(out))
"""


def journey(app: Path, case: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", JOURNEY, case], cwd=app, capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode:
        raise SystemExit(f"{case} in {app} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--reference", type=Path, help="another checkout of the app to compare with")
    args = parser.parse_args()
    apps = {"this": ROOT} | ({"reference": args.reference.resolve()} if args.reference else {})
    for case in ("wide", "classes"):
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for name, app in apps.items():  # alternate, so both see the same machine load
                got = journey(app, case)
                kept = best.setdefault(name, got)
                for key, value in got.items():
                    kept[key] = min(kept[key], value)
        print(f"{case}:")
        for key in best["this"]:
            line = f"  {key:14s} {best['this'][key]:>10,}"
            if "reference" in best:
                ref = best["reference"][key]
                line += f"   reference {ref:>10,}" + (f"   ratio {best['this'][key] / ref:.2f}" if ref else "")
            print(line)


if __name__ == "__main__":
    main()
