"""No package's source uses a private name of a third-party package: a patch release of a
dependency cannot break flyer by changing its internals.

Checked over every `packages/*/src` tree, by reading the syntax tree:
- `from pkg._mod import x`, `from pkg import _x`, `import pkg._mod` for any non-flyer, non-stdlib
  package;
- `module._x` where `module` is a name bound by importing a third-party module;
- `getattr(obj, "_x")` / `hasattr(obj, "_x")` on anything but the object itself (`self`/`cls`);
- `self._x` / `obj._x` where `_x` is defined nowhere in the same package's source: an attribute
  that can only come from a third-party base class or object.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("packages/flyer-*/src/flyer_*/**/*.py"))
STDLIB: Set[str] = set(getattr(sys, "stdlib_module_names", ())) | {"typing_extensions"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _third_party(module: str) -> bool:
    top = module.split(".")[0]
    return not top.startswith("flyer_") and top not in STDLIB


def _sets_attribute(call: ast.Call) -> bool:
    """`setattr(obj, "name", value)` or `object.__setattr__(obj, "name", value)` (how a class
    whose `__setattr__` is overridden sets its own attributes)."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "setattr"
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__setattr__"
        and isinstance(func.value, ast.Name)
        and func.value.id == "object"
    )


def _own_names(trees: Dict[Path, ast.AST]) -> Set[str]:
    """Every name flyer's sources define: functions, classes, attributes assigned (also by
    `setattr` / `object.__setattr__`), arguments, keyword arguments of their own functions,
    variables."""
    names: Set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Call) and len(node.args) >= 2 and _sets_attribute(node):
                value = node.args[1]
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names.add(value.value)
    return names


def _imports(tree: ast.AST, where: str, modules: Set[str]) -> List[str]:
    """Private imports from third-party packages; fills `modules` with the names bound to
    third-party modules."""
    hits: List[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _third_party(alias.name):
                    continue
                if any(_private(part) for part in alias.name.split(".")):
                    hits.append(f"{where}:{node.lineno}: import {alias.name}")
                modules.add(alias.asname or alias.name.split(".")[0])
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and _third_party(node.module)
        ):
            if any(_private(part) for part in node.module.split(".")):
                hits.append(f"{where}:{node.lineno}: from {node.module} import ...")
            hits.extend(
                f"{where}:{node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if _private(alias.name)
            )
    return hits


def _private_getattr(node: ast.Call, own: Set[str]) -> bool:
    if not (isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")):
        return False
    if len(node.args) < 2:
        return False
    target, name = node.args[0], node.args[1]
    return (
        isinstance(name, ast.Constant)
        and isinstance(name.value, str)
        and _private(name.value)
        and name.value not in own
        and not (isinstance(target, ast.Name) and target.id in ("self", "cls"))
    )


def private_uses(source: str, where: str, own: Set[str]) -> List[str]:
    tree = ast.parse(source)
    modules: Set[str] = set()
    hits = _imports(tree, where, modules)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            on_module = isinstance(base, ast.Name) and base.id in modules
            if on_module or node.attr not in own:
                hits.append(f"{where}:{line}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and _private_getattr(node, own):
            hits.append(f"{where}:{line}: {ast.unparse(node)}")
    return hits


def test_no_source_uses_a_private_name_of_a_third_party_package() -> None:
    hits: List[str] = []
    for package in sorted({path.relative_to(ROOT).parts[1] for path in SOURCES}):
        paths = [path for path in SOURCES if path.relative_to(ROOT).parts[1] == package]
        trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
        own = _own_names(trees)
        for path in paths:
            text = path.read_text(encoding="utf-8")
            hits.extend(private_uses(text, str(path.relative_to(ROOT)), own))
    assert hits == []
    assert len(SOURCES) > 50  # every package's source was read


def test_the_check_sees_each_kind_of_use() -> None:
    own = {"_mine"}
    assert private_uses("from httpx._multipart import X\n", "a", own)
    assert private_uses("from structlog.contextvars import _CONTEXT_VARS\n", "a", own)
    assert private_uses("import structlog\nx = structlog.contextvars._CONTEXT_VARS\n", "a", own)
    assert private_uses("x = getattr(result, '_conn', None)\n", "a", own)
    assert private_uses("class T(Base):\n    def f(self):\n        return self._tables\n", "a", own)
    assert not private_uses("from flyer_core._app import x\nfrom os import _exit\n", "a", own)
    assert not private_uses("def f(self):\n    return self._mine, getattr(self, '_x')\n", "a", own)
