"""`flyer create`: validate the inputs, render the template, write it inside the target only.

Everything is checked and rendered in memory before the first byte is written, so a bad
name, prefix or directory leaves the disk untouched.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path, PurePosixPath
from typing import List, Optional

from flyer_cli._errors import CliError
from flyer_cli._template import RenderedFile, render_project

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
_PREFIX = re.compile(r"(/[A-Za-z0-9._-]+)+\Z")
_RESERVED = frozenset(
    f"flyer-{package}" for package in ("status", "http", "cache", "db", "sched", "core", "cli")
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def validate_name(name: str) -> str:
    """The project name, or a CliError saying what is allowed."""
    if not _NAME.match(name) or name.endswith(("-", "_")):
        raise CliError(
            f"project name {name!r}: expected a letter followed by letters, digits, '-' or '_' "
            "(at most 64 characters, not ending in '-' or '_')"
        )
    if _normalise(name) in _RESERVED:
        raise CliError(f"project name {name!r}: that is a flyer package's name; choose another")
    return name


def validate_prefix(prefix: str) -> str:
    """The URL prefix (flyer_base_url), or a CliError saying what is allowed."""
    if not _PREFIX.match(prefix) or any(part in {".", ".."} for part in prefix.split("/")):
        raise CliError(
            f"--prefix {prefix!r}: expected a URL path such as /shop or /api/shop "
            "(segments of letters, digits, '.', '_' and '-', no trailing '/')"
        )
    return prefix


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def _check_destination(root: Path, files: List[RenderedFile]) -> None:
    """Refuse any write that would leave `root`: `..`, absolute paths or symlinks on the way."""
    for item in files:
        relative = PurePosixPath(item.path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise CliError(f"template path {item.path!r} would leave the target directory")
        current = root
        for index, part in enumerate(relative.parts):
            current = current / part
            if current.is_symlink():
                raise CliError(f"refusing to write through the symlink {current}")
            last = index == len(relative.parts) - 1
            if current.exists() and not last and not current.is_dir():
                raise CliError(f"{current} is a file, but the project needs a directory there")
            if last and current.is_dir():
                raise CliError(f"{current} is a directory, but the project needs a file there")
        resolved = current.resolve()
        if resolved != root and root not in resolved.parents:
            raise CliError(f"refusing to write {current}: it resolves outside {root}")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _write(root: Path, item: RenderedFile) -> None:
    path = root.joinpath(*PurePosixPath(item.path).parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, item.mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(item.content)
    os.chmod(path, item.mode)


def create_project(
    name: str, *, prefix: Optional[str] = None, directory: Optional[str] = None, force: bool = False
) -> List[Path]:
    """Generate project `name` into `directory` (default `./name`); return the written paths."""
    name = validate_name(name)
    prefix = validate_prefix(prefix if prefix is not None else f"/{name}")
    target = Path(directory if directory is not None else name)
    if target.is_symlink() and not target.exists():
        raise CliError(f"--dir {str(target)!r} is a dangling symlink")
    if target.exists():
        if not target.is_dir():
            raise CliError(f"--dir {str(target)!r} exists and is not a directory")
        if not force and not _is_empty_dir(target):
            raise CliError(
                f"--dir {str(target)!r} is not empty; pass --force to write into it "
                "(generated files are overwritten, others are kept)"
            )
    root = target.resolve()
    files = render_project(name=name, prefix=prefix)
    _check_destination(root, files)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for item in files:
        _write(root, item)
        written.append(root.joinpath(*PurePosixPath(item.path).parts))
    return written


def create_command(
    name: str, *, prefix: Optional[str], directory: Optional[str], force: bool
) -> int:
    """`flyer create`: generate the project and say what to do next."""
    written = create_project(name, prefix=prefix, directory=directory, force=force)
    target = directory if directory is not None else name
    out = sys.stdout
    out.write(f"Created project {name!r} in {target} ({len(written)} files).\n\n")
    out.write("Next steps:\n")
    if os.path.abspath(target) != os.getcwd():
        out.write(f"  cd {shlex.quote(target)}\n")
    out.write("  flyer run            # development server with reload on :8080\n")
    out.write("  python -m pytest     # the project's own tests\n")
    return 0
