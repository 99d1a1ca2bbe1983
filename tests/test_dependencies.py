"""Every third-party module the app imports is pinned in requirements.txt (a fresh install has it)."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

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
