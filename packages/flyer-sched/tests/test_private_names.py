"""flyer_sched uses APScheduler through its public names only: a patch release cannot break it.

The private names are taken from the installed APScheduler itself: every `_name` it defines as
a function, method, class attribute or `self._name` attribute. flyer_sched's source must neither
access, call nor override any of them (its own `_flyer_*` names are kept apart by the prefix),
nor import a private module or name from APScheduler.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Set

import apscheduler

SRC = Path(__file__).resolve().parents[1] / "src" / "flyer_sched"


def _defined_private_names(root: Path) -> Set[str]:
    names: Set[str] = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _uses(source: str, private: Set[str], own: Set[str], where: str) -> List[str]:
    """Where `source` overrides a private method of APScheduler's (a method of that name), or
    reads one of its private attributes that flyer_sched does not define itself (`own`)."""
    hits = []
    tree = ast.parse(source)
    methods = {
        id(item)
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for item in cls.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and node.attr in private - own:
            hits.append(f"{where}:{line}: .{node.attr}")
        elif id(node) in methods and getattr(node, "name", "") in private:
            hits.append(f"{where}:{line}: def {node.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("apscheduler"):
            module_private = any(p.startswith("_") for p in (node.module or "").split("."))
            names_private = [a.name for a in node.names if a.name.startswith("_")]
            if module_private or names_private:
                hits.append(f"{where}:{line}: from {node.module} import ...")
    return hits


def test_flyer_sched_uses_no_private_name_of_apscheduler() -> None:
    private = _defined_private_names(Path(apscheduler.__file__).parent)
    assert "_do_submit_job" in private  # the scan finds APScheduler's private names
    assert "_dispatch_event" in private
    own = _defined_private_names(SRC)
    hits = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        for hit in _uses(path.read_text(encoding="utf-8"), private, own, path.name)
    ]
    assert hits == []


def test_the_check_sees_an_override_a_call_and_an_import() -> None:
    private = {"_do_submit_job", "_dispatch_event"}
    source = (
        "from apscheduler.executors.base import _run_job\n"
        "class E:\n"
        "    def _do_submit_job(self, job, run_times):\n"
        "        self.scheduler._dispatch_event(job)\n"
    )
    assert len(_uses(source, private, set(), "x.py")) == 3
    assert (
        _uses("def _flyer_submit(self):\n    self._flyer_log = 1\n", private, set(), "x.py") == []
    )
