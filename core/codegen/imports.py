"""The generated script's import lines: one binding per name, aliases when two objects share a name.

Also :class:`CodegenError`, raised by every module of this package when something cannot be
written as code.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

from core.errors import DashboardError


class CodegenError(DashboardError):
    """The model cannot be written as a standalone script."""


#: Prefixes that tell two same-named classes apart (``ImbPipeline`` next to scikit-learn's ``Pipeline``).
_ALIAS_PREFIX = {"imblearn": "Imb", "sklearn": "Sk", "lightgbm": "Lgbm"}


@dataclass(frozen=True)
class Binding:
    """What a name is bound to by an import line."""

    kind: str  # "import" (import module [as name]) or "from" (from module import attr [as name])
    module: str
    attr: str | None


class Imports:
    """The script's import lines: one binding per name, aliases when two objects share a name."""

    def __init__(self) -> None:
        self.bound: dict[str, Binding] = {}

    def add(self, name: str, binding: Binding) -> bool:
        """Bind ``name``; False when it is already bound to something else."""
        known = self.bound.get(name)
        if known is None:
            self.bound[name] = binding
            return True
        if known == binding:
            return True
        resolved = _resolve(known)
        return resolved is not None and resolved is _resolve(binding)

    def require(self, name: str, binding: Binding) -> None:
        if not self.add(name, binding):
            raise CodegenError(
                f"Two helpers need the name {name!r} for different things; the script cannot be written."
            )

    def name_for(self, obj: Any) -> str:
        """The name the script uses for a library class or function, importing it."""
        if not str(getattr(obj, "__name__", "")).isidentifier() or not getattr(obj, "__module__", None):
            raise CodegenError(f"{obj!r} cannot be imported by name, so the script cannot be written.")
        if obj.__module__.split(".")[0] == "numpy":
            self.require("np", Binding("import", "numpy", None))
            return f"np.{obj.__name__}"
        module = _public_module(obj)
        binding = Binding("from", module, obj.__name__)
        name = obj.__name__
        if self.add(name, binding):
            return name
        alias = _ALIAS_PREFIX.get(module.split(".")[0], module.split(".")[0].title()) + name
        self.require(alias, binding)
        return alias

    def lines(self) -> list[str]:
        """``import``/``from`` lines: standard library first, then the rest, as isort orders them."""
        groups: dict[bool, tuple[list[str], dict[str, list[str]]]] = {True: ([], {}), False: ([], {})}
        for name, b in self.bound.items():
            plain, froms = groups[b.module.split(".")[0] in sys.stdlib_module_names]
            if b.kind == "import":
                alias = "" if name == b.module.split(".")[0] else f" as {name}"  # "import a.b" binds "a"
                plain.append(f"import {b.module}{alias}")
            else:
                froms.setdefault(b.module, []).append(b.attr if name == b.attr else f"{b.attr} as {name}")
        out = ["from __future__ import annotations", ""]
        for stdlib in (True, False):
            plain, froms = groups[stdlib]
            block = sorted(set(plain), key=lambda s: s.split()[1].lower())
            block += [
                f"from {module} import {', '.join(sorted(set(names), key=_isort_key))}"
                for module, names in sorted(froms.items())
            ]
            if block:
                out += [*block, ""]
        return out[:-1]


def _isort_key(name: str) -> tuple[int, str]:
    # isort's order inside one "from" line: CONSTANTS, Classes, functions.
    first = name.split(" ")[0]
    kind = 0 if first.isupper() and len(first) > 1 else 1 if first[:1].isupper() else 2
    return kind, first.lower()


def _resolve(binding: Binding) -> Any:
    try:
        module = importlib.import_module(binding.module)
    except ImportError:
        return None
    return module if binding.attr is None else getattr(module, binding.attr, None)


def _public_module(obj: Any) -> str:
    """The shortest public module that exposes ``obj`` (``sklearn.ensemble``, not ``sklearn.ensemble._forest``)."""
    parts = obj.__module__.split(".")
    for size in range(1, len(parts) + 1):
        if parts[size - 1].startswith("_"):
            break
        candidate = ".".join(parts[:size])
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        if getattr(module, obj.__name__, None) is obj:
            return candidate
    return obj.__module__
