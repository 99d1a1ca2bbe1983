"""Every third-party module the app imports is pinned in requirements.txt (a fresh install has it)."""

from __future__ import annotations

import ast
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWN = {"app", "core", "ui", "pages", "tests", "bench"}


def imported_modules(paths: list[Path]) -> dict[str, str]:
    """Top-level module → a file importing it, for every import (inside functions too)."""
    found: dict[str, str] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.name)
    return found


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(requirements: Path) -> set[str]:
    """Normalised names of the distributions pinned in a requirements file (following ``-r``)."""
    names: set[str] = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            names |= pinned(requirements.parent / line[3:].strip())
        elif line:
            names.add(normalise(re.split(r"[=<>!~;\[ ]", line)[0]))
    return names


def undeclared(files: list[Path], requirements: Path) -> list[str]:
    """Third-party modules imported by ``files`` that no distribution pinned in ``requirements`` provides."""
    providers = metadata.packages_distributions()
    declared = pinned(requirements)
    missing = []
    for module, where in sorted(imported_modules(files).items()):
        if module in OWN or module in sys.stdlib_module_names or module == "__future__":
            continue
        distributions = {normalise(d) for d in providers.get(module, [])}
        if not distributions & declared:
            missing.append(
                f"{module} (imported in {where}; provided by {sorted(distributions) or 'nothing installed'})"
            )
    return missing


def test_every_third_party_import_of_the_app_is_pinned():
    files = [ROOT / "app.py", *(p for d in ("core", "ui", "pages") for p in (ROOT / d).rglob("*.py"))]
    missing = undeclared(files, ROOT / "requirements.txt")
    assert not missing, "imported but not pinned in requirements.txt: " + "; ".join(missing)


def test_an_import_inside_a_function_that_nothing_pins_is_named(tmp_path):
    script = tmp_path / "uses.py"
    script.write_text("import numpy\n\ndef f():\n    import scipy.sparse as sp\n    from joblib import Parallel\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2.4.6  # arrays\nscikit-learn==1.9.1\n")
    missing = undeclared([script], requirements)
    assert [m.split()[0] for m in missing] == ["joblib", "scipy"], missing


def pins(path: Path) -> dict[str, str]:
    """Normalised name → pinned version of every ``name==version`` line (markers ignored; ``-r`` followed)."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found |= pins(path.parent / line[3:].strip())
        elif "==" in line:
            name, version = line.split(";")[0].split("==")
            found[normalise(name.strip())] = version.strip()
    return found


def test_the_lock_pins_every_requirement_at_the_same_version():
    """constraints.txt is what installs: a requirement it lacks, or pins differently, means it was not regenerated."""
    lock = pins(ROOT / "constraints.txt")
    wanted = pins(ROOT / "requirements-dev.txt")
    here = {k: v for k, v in wanted.items() if k != "tensorflow"}  # Linux x86_64 installs tensorflow-cpu instead
    assert {k: lock.get(k) for k in here} == here


def test_the_lock_is_what_is_installed_here():
    """The environment the tests run in was installed from the lock (make test): every locked version is the one here."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the lock is made on Linux x86_64 (CI's platform); elsewhere pip picks the platform's wheels")
    installed = {normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}
    locked = pins(ROOT / "constraints.txt")
    assert {k: installed.get(k) for k in locked} == locked
