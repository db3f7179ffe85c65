"""`flyer_status.lazy.exports`: a package's public names imported when first read."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = """
import json, sys
import pkg
seen = sorted(m for m in sys.modules if m.startswith("pkg."))
value = pkg.answer
after = sorted(m for m in sys.modules if m.startswith("pkg."))
try:
    pkg.nothing
except AttributeError as exc:
    error = str(exc)
print(json.dumps({
    "before": seen, "value": value, "after": after, "kept": "answer" in vars(pkg),
    "error": error, "dir": [n for n in dir(pkg) if not n.startswith("__")],
}))
"""


def test_names_are_imported_when_first_read_and_kept(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            from flyer_status import lazy

            __all__ = ["answer"]
            __getattr__, __dir__ = lazy.exports(__name__, {"answer": "pkg._impl"})
            """
        )
    )
    (pkg / "_impl.py").write_text("answer = 42\n")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=str(tmp_path), check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert result["value"] == 42
    assert result["after"] == ["pkg._impl"]
    assert result["kept"] is True
    assert result["error"] == "module 'pkg' has no attribute 'nothing'"
    assert "answer" in result["dir"]
