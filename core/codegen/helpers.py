"""Copying the app's own helpers into the script, and knowing which names code binds.

:class:`Bundle` copies a class or function of the app with :func:`inspect.getsource`, together
with every module-level definition it uses (recursively, across the app's modules) and the
library imports those need, so the script runs without the app and follows it when it changes.
:func:`bound_names` reads which names a piece of code binds, so the script can refuse helpers
that would overwrite its own names.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from core.codegen.imports import Binding, CodegenError, Imports


@dataclass
class _ModuleInfo:
    name: str
    lines: list[str]
    #: Top-level functions, classes and assignments by the names they bind or change, in source order
    #: (``X = …`` and a later ``X[i] = …`` are both needed to have ``X``).
    defs: dict[str, list[ast.stmt]]
    imports: dict[str, Binding]


@functools.cache
def _module_info(name: str) -> _ModuleInfo:
    module = importlib.import_module(name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    defs: dict[str, list[ast.stmt]] = {}
    imports: dict[str, Binding] = {}
    for node in tree.body:
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign | ast.AugAssign
        ):
            for bound in _bound_by(node):
                defs.setdefault(bound, []).append(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name.split(".")[0]] = Binding("import", alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            for alias in node.names:
                imports[alias.asname or alias.name] = Binding("from", node.module, alias.name)
    return _ModuleInfo(name, source.splitlines(), defs, imports)


def _bound_by(node: ast.stmt) -> list[str]:
    """The module-level names a definition binds, or changes (``X[i] = …``, ``X.a = …``, ``X += …``)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    names: list[str] = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.append(sub.id)
        base = target
        while isinstance(base, ast.Subscript | ast.Attribute):
            base = base.value
        if base is not target and isinstance(base, ast.Name):
            names.append(base.id)
    return names


def _used_names(node: ast.stmt) -> set[str]:
    """Names a definition reads (its locals too; those simply match nothing at module level)."""
    used: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Store):
            used.add(sub.id)
        elif isinstance(sub, ast.Global):
            used.update(sub.names)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
            if module and module.split(".")[0] == "core":
                raise CodegenError(f"A helper imports the app ({module}) inside a function; it cannot be copied.")
    return used


def is_core(obj: Any) -> bool:
    """Whether ``obj`` is the app's own (defined in :mod:`core`): then it is copied, not imported."""
    return getattr(obj, "__module__", "").split(".")[0] == "core"


class Bundle:
    """The app's helpers the script needs, with what they use, dependencies first."""

    def __init__(self, imports: Imports) -> None:
        self.imports = imports
        self.pieces: list[tuple[str, int, str]] = []  # (module, line, source)
        self.defined: dict[str, str] = {}  # top-level name -> module
        self._seen: set[tuple[str, int]] = set()
        self._uses: dict[str, list[str]] = {}  # module -> app modules its copied pieces import from

    def require(self, obj: Any) -> str:
        """Copy ``obj`` (a class or function of the app) and what it uses; return its name."""
        obj = inspect.unwrap(obj)
        self._need(obj.__module__, obj.__name__)
        return obj.__name__

    def _need(self, module: str, name: str) -> None:
        info = _module_info(module)
        nodes = info.defs.get(name)
        if not nodes:
            if name in info.imports:
                self._imported(info, name)
                return
            raise CodegenError(f"'{module}.{name}' cannot be found to copy into the script.")
        for node in nodes:
            self._copy(info, node)

    def _copy(self, info: _ModuleInfo, node: ast.stmt) -> None:
        module = info.name
        key = (module, node.lineno)
        if key in self._seen:
            return
        self._seen.add(key)
        own = set(_bound_by(node))
        for used in sorted(_used_names(node) - own):
            if used in info.defs:
                self._need(module, used)
            elif used in info.imports:
                self._imported(info, used)
        for bound in own:
            if self.defined.setdefault(bound, module) != module:
                raise CodegenError(f"Two helpers are both called {bound!r}; the script cannot be written.")
        self._uses.setdefault(module, [])
        self.pieces.append((module, node.lineno, _segment(info, node)))

    def _imported(self, info: _ModuleInfo, name: str) -> None:
        binding = info.imports[name]
        if binding.module.split(".")[0] == "core":
            if binding.kind != "from" or binding.attr != name:
                raise CodegenError(f"'{info.name}' imports {name!r} under another name; it cannot be copied.")
            self._uses.setdefault(info.name, []).append(binding.module)
            self._need(binding.module, name)
        else:
            self.imports.require(name, binding)

    def source(self) -> str:
        """The copied pieces grouped by module, each module in its own source order (which is an
        order its code runs in), modules after the ones they import from."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(module: str) -> None:
            if module not in order and module not in visiting:
                visiting.add(module)
                for used in self._uses.get(module, []):
                    visit(used)
                order.append(module)

        for module in self._uses:
            visit(module)
        out: list[str] = []
        for module in order:
            pieces = sorted((line, text) for m, line, text in self.pieces if m == module)
            out.append(f"# From the app: {module.replace('.', '/')}.py")
            for _, text in pieces:
                out += [text, "", ""]
        return "\n".join(out).rstrip() + "\n"


def _segment(info: _ModuleInfo, node: ast.stmt) -> str:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    while start > 1 and info.lines[start - 2].startswith("#") and not info.lines[start - 2].startswith("# --"):
        start -= 1
    return "\n".join(info.lines[start - 1 : node.end_lineno])


#: Nodes with a scope of their own: names bound inside them are not the module's.
_OWN_SCOPE = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def bound_names(code: str) -> set[str]:
    """The names ``code`` binds at module level.

    Assignment targets (plain, augmented, annotated, ``:=``), ``for`` and ``with … as`` targets,
    ``except … as`` names, function and class definitions and imports, inside ``if``, ``for``,
    ``while``, ``with`` and ``try`` blocks too; never names bound inside a function, class, lambda
    or comprehension, which have scopes of their own.
    """
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                names.update((alias.asname or alias.name).split(".")[0] for alias in child.names if alias.name != "*")
            if isinstance(child, _OWN_SCOPE):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
                names.add(child.id)
            elif isinstance(child, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and child.name:
                names.add(child.name)
            visit(child)

    visit(ast.parse(code))
    return names
