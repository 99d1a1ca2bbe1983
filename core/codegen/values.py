"""Writing values as code: literals, and estimators and pipelines as constructor calls.

:class:`Node` is an expression laid out as ruff format would (one line when it fits in
:data:`WIDTH`, else one item per line); :class:`Renderer` turns an estimator into
``Class(param=value, …)``, importing library classes and copying the app's own (:class:`Bundle`).
Text is only ever written through ``repr``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.codegen.helpers import Bundle, is_core
from core.codegen.imports import CodegenError, Imports

#: Generated lines are wrapped to stay within this many characters where possible.
WIDTH = 100


@dataclass
class Node:
    """An expression: an atom (``items is None``) or a bracketed list of ``(prefix, node)`` items."""

    text: str  # the atom, or the opening bracket ("Name(", "[", "(", "{")
    items: list[tuple[str, Node]] | None = None
    close: str = ""
    one_tuple: bool = False

    def flat(self) -> str:
        if self.items is None:
            return self.text
        inner = ", ".join(prefix + node.flat() for prefix, node in self.items)
        return self.text + inner + ("," if self.one_tuple else "") + self.close

    def format(self, indent: int = 0, column: int | None = None) -> str:
        """Black-like: on one line when it fits in :data:`WIDTH`, else one item per line."""
        flat = self.flat()
        column = indent if column is None else column
        if self.items is None or not self.items or column + len(flat) + 1 <= WIDTH:
            return flat
        pad = " " * (indent + 4)
        lines = [self.text]
        # A lone argument is not followed by a comma (as ruff format writes it); a one-item tuple is.
        comma = "," if len(self.items) > 1 or self.one_tuple or self.text in ("[", "{") else ""
        for prefix, node in self.items:
            lines.append(pad + prefix + node.format(indent + 4, indent + 4 + len(prefix)) + comma)
        lines.append(" " * indent + self.close)
        return "\n".join(lines)


def atom(text: str) -> Node:
    return Node(text)


def literal(value: Any) -> str:
    """A plain value as Python source; user text is only ever written through ``repr``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return _str(value)
    if value is None or isinstance(value, bool | int | bytes):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    raise CodegenError(f"A setting of type {type(value).__name__} cannot be written in the script.")


def _str(text: str) -> str:
    """``repr`` of a string, in double quotes when that needs no escaping (as ruff format writes it)."""
    quoted = repr(str(text))
    if quoted.startswith("'") and '"' not in text:
        return '"' + quoted[1:-1] + '"'
    return quoted


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    try:
        equal = a == b
    except Exception:  # objects that refuse comparison are simply "different"
        return False
    return isinstance(equal, bool | np.bool_) and bool(equal)


class Renderer:
    """Turns estimators, pipelines and plain values into :class:`Node` expressions."""

    _POSITIONAL = ("steps", "transformers")

    def __init__(self, imports: Imports, bundle: Bundle) -> None:
        self.imports = imports
        self.bundle = bundle

    def node(self, value: Any, show: dict[str, Any] | None = None) -> Node:
        if isinstance(value, Node):
            return value
        if isinstance(value, list | tuple):
            items = [("", self.node(v, show)) for v in value]
            if isinstance(value, list):
                return Node("[", items, "]")
            return Node("(", items, ")", one_tuple=len(items) == 1)
        if isinstance(value, dict):
            return Node("{", [(f"{self.node(k).flat()}: ", self.node(v, show)) for k, v in value.items()], "}")
        if isinstance(value, np.ndarray):
            return Node(f"{self.imports.name_for(np.array)}(", [("", self.node(value.tolist()))], ")")
        if hasattr(value, "get_params") and not isinstance(value, type):
            return self.call(value, show)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__name__")):
            return atom(self.name(value))
        return atom(literal(value))

    def name(self, obj: Any) -> str:
        return self.bundle.require(obj) if is_core(obj) else self.imports.name_for(obj)

    def call(
        self, estimator: Any, show: dict[str, Any] | None = None, overrides: dict[str, Node] | None = None
    ) -> Node:
        """``Class(param=value, …)``: the app's own classes with every setting; library classes with
        the settings that differ from their defaults, plus the model's form settings (``show``).
        ``overrides`` writes some settings as given expressions (e.g. variable names)."""
        cls = type(estimator)
        name = self.name(cls)
        params = estimator.get_params(deep=False)
        signature = inspect.signature(cls.__init__).parameters
        order = [p for p in signature if p in params] + [p for p in params if p not in signature]
        own = is_core(cls)
        items: list[tuple[str, Node]] = []
        overrides = overrides or {}
        for key in order:
            value = overrides.get(key, params[key])
            default = signature[key].default if key in signature else inspect.Parameter.empty
            wanted = key in overrides or (show is not None and key in show and _same(value, show[key]))
            if not (own or wanted or default is inspect.Parameter.empty or not _same(value, default)):
                continue
            prefix = "" if key in self._POSITIONAL and not items else f"{key}="
            items.append((prefix, self.node(value, show)))
        return Node(f"{name}(", items, ")")


def list_literal(values: list[str], indent: int = 0, column: int = 0) -> str:
    """A list of plain values as a Python literal, laid out to fit from ``column``."""
    return Node("[", [("", atom(literal(v))) for v in values], "]").format(indent, column)


def dict_literal(values: dict[str, Any]) -> str:
    """A dict of plain values as a Python literal (keys and values through ``repr``)."""
    return Node("{", [(f"{literal(k)}: ", atom(literal(v))) for k, v in values.items()], "}").format()
