"""Fixtures for flyer-cli's tests: running the real `flyer` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

FlyerRunner = Callable[..., "subprocess.CompletedProcess[str]"]


def _clean_env(extra: Optional[Dict[str, str]]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture
def flyer() -> FlyerRunner:
    """Run `python -m flyer_cli ARGS` in `cwd` with `env` added (no inherited flyer_* vars)."""

    def run(
        *args: str,
        cwd: Optional[Path] = None,
        env: Optional[Dict[str, str]] = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flyer_cli", *args],
            cwd=str(cwd) if cwd is not None else None,
            env=_clean_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


def snapshot(root: Path) -> Dict[str, bytes]:
    """Every file and symlink under `root` with its content (symlinks: their target)."""
    found: Dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = b"<dir>"
    return found


@pytest.fixture
def tree() -> Callable[[Path], Dict[str, bytes]]:
    """Snapshot a directory tree, to prove a failed command wrote nothing."""
    return snapshot
