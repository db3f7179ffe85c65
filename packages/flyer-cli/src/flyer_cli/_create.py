"""`flyer create`: validate the inputs, render the template, write it inside the target only.

Everything is checked and rendered in memory before the first byte is written, so a bad
name, prefix, directory or `--flyer-source` leaves the disk untouched. The files are then written into a
temporary folder and moved into place: a new project folder is renamed into place in one
step; into an existing folder (empty, or with `--force`) each file is moved in, and a failure
part-way moves every replaced file back. Either way a failure leaves nothing half-written.

Then `uv lock` pins the dependencies in `uv.lock` when uv is on PATH; without uv, or when
locking fails, the project stands as written and one line says how to make the lock later.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import List, Optional, TextIO, Tuple

from flyer_cli._errors import CliError
from flyer_cli._template import RenderedFile, flyer_dependencies, render_project

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


def validate_flyer_source(path: str) -> Path:
    """The flyer checkout `path` (absolute), or a CliError naming the package it lacks."""
    root = Path(path).expanduser().resolve()
    for dist in flyer_dependencies():
        if not (root / "packages" / dist / "pyproject.toml").is_file():
            raise CliError(
                f"--flyer-source {path!r}: expected a flyer checkout, whose packages/ folder "
                f"holds {', '.join(flyer_dependencies())}; packages/{dist}/pyproject.toml "
                "is missing"
            )
    return root


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
    path = root.joinpath(*_parts(item))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, item.mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(item.content)
    os.chmod(path, item.mode)


def _place(source: Path, destination: Path) -> None:
    """Move one file into place (an atomic rename: same file system)."""
    os.replace(str(source), str(destination))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _missing_parents(path: Path) -> List[Path]:
    """`path`'s ancestors that do not exist yet, outermost first."""
    missing: List[Path] = []
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            break
        missing.append(parent)
    return list(reversed(missing))


def _remove_dirs(created: List[Path]) -> None:
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass


def _write_new(root: Path, files: List[RenderedFile]) -> None:
    """Write the project into a temporary folder beside `root`, then rename it to `root`."""
    created = _missing_parents(root)
    try:
        for folder in created:
            folder.mkdir()
        stage = Path(
            tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".flyer-tmp", dir=root.parent)
        )
        try:
            for item in files:
                _write(stage, item)
            os.chmod(str(stage), 0o777 & ~_umask())  # mkdtemp made it private
            os.rename(str(stage), str(root))
        except BaseException:
            shutil.rmtree(str(stage), ignore_errors=True)
            raise
    except BaseException:
        _remove_dirs(created)
        raise


def _parts(item: RenderedFile) -> Tuple[str, ...]:
    return PurePosixPath(item.path).parts


def _write_into(root: Path, files: List[RenderedFile]) -> None:
    """Write the project into the existing folder `root`, all or nothing.

    The files are written into a temporary folder inside `root` (so moving them is a rename
    on one file system), then moved in one by one, each replaced file kept aside; a failure
    moves the new files out and the kept ones back, and removes the folders it made.
    """
    stage = Path(tempfile.mkdtemp(prefix=".flyer-create.", dir=root))
    new, old = stage / "new", stage / "old"
    placed: List[Tuple[Path, Optional[Path]]] = []
    created: List[Path] = []
    try:
        for item in files:
            _write(new, item)
        for item in files:
            destination = root.joinpath(*_parts(item))
            for folder in _missing_parents(destination):
                folder.mkdir()
                created.append(folder)
            kept: Optional[Path] = None
            if destination.exists():
                kept = old.joinpath(*_parts(item))
                kept.parent.mkdir(parents=True, exist_ok=True)
                _place(destination, kept)
            placed.append((destination, kept))
            _place(new.joinpath(*_parts(item)), destination)
    except BaseException:
        for destination, kept in reversed(placed):
            try:
                if kept is not None:
                    os.replace(str(kept), str(destination))
                elif destination.exists():
                    destination.unlink()
            except OSError:
                pass
        _remove_dirs(created)
        raise
    finally:
        shutil.rmtree(str(stage), ignore_errors=True)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def create_project(
    name: str,
    *,
    prefix: Optional[str] = None,
    directory: Optional[str] = None,
    force: bool = False,
    flyer_source: Optional[str] = None,
) -> List[Path]:
    """Generate project `name` into `directory` (default `./name`); return the written paths."""
    name = validate_name(name)
    prefix = validate_prefix(prefix if prefix is not None else f"/{name}")
    source = validate_flyer_source(flyer_source) if flyer_source is not None else None
    target = Path(directory if directory is not None else name)
    shown = str(target)
    try:
        if target.is_symlink() and not target.exists():
            raise CliError(f"--dir {shown!r} is a dangling symlink")
        if target.exists():
            if not target.is_dir():
                raise CliError(f"--dir {shown!r} exists and is not a directory")
            if not force and not _is_empty_dir(target):
                raise CliError(
                    f"--dir {shown!r} is not empty; pass --force to write into it "
                    "(generated files are overwritten, others are kept)"
                )
        root = target.resolve()
        files = render_project(name=name, prefix=prefix, flyer_source=source)
        _check_destination(root, files)
        if root.exists():
            _write_into(root, files)
        else:
            _write_new(root, files)
    except OSError as exc:
        raise CliError(
            f"--dir {shown!r}: cannot write the project there: {_reason(exc)} (nothing was written)"
        ) from None
    return [root.joinpath(*_parts(item)) for item in files]


LOCK_TIMEOUT = 600.0


def _uv_failure(stderr: str) -> str:
    """uv's reason in one line: its `error:` line and the first `cause:` (or hint) after it."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    picked = [line for line in lines if line.startswith("error:")][:1]
    picked += [line for line in lines if line.startswith(("cause:", "Caused by:"))][:1]
    return " ".join("; ".join(picked or lines[-1:]).split()) or "uv printed no reason"


def lock_project(root: Path, shown: str, out: TextIO, err: TextIO) -> bool:
    """Run `uv lock` in `root` with this Python; say what happened in one line. True if locked."""
    redo = f"run `uv lock` in {shlex.quote(shown)}"
    uv = shutil.which("uv")
    if uv is None:
        out.write(f"uv.lock: skipped, uv is not on PATH; install uv and {redo} to make it.\n")
        return False
    # --directory, not cwd: a version manager's shim for `uv` (pyenv) would otherwise obey the
    # project's new .python-version before uv even starts.
    command = [uv, "lock", "--quiet", "--directory", str(root), "--python", sys.executable]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=LOCK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        reason = f"uv lock took longer than {LOCK_TIMEOUT:.0f} s"
    except OSError as exc:
        reason = f"uv could not run: {_reason(exc)}"
    else:
        if result.returncode == 0 and (root / "uv.lock").is_file():
            out.write("uv.lock: the dependencies are locked (uv lock).\n")
            return True
        reason = _uv_failure(result.stderr)
    err.write(f"flyer: warning: uv.lock was not written ({reason}); {redo} once that is fixed.\n")
    return False


def create_command(
    name: str,
    *,
    prefix: Optional[str],
    directory: Optional[str],
    force: bool,
    flyer_source: Optional[str] = None,
    lock: bool = True,
) -> int:
    """`flyer create`: generate the project, lock its dependencies, say what to do next."""
    written = create_project(
        name, prefix=prefix, directory=directory, force=force, flyer_source=flyer_source
    )
    target = directory if directory is not None else name
    out = sys.stdout
    out.write(f"Created project {name!r} in {target} ({len(written)} files).\n")
    root = Path(target).resolve()
    if lock:
        locked = lock_project(root, target, out, sys.stderr)
    else:
        locked = False
        out.write(
            f"uv.lock: skipped (--no-lock); run `uv lock` in {shlex.quote(target)} to make it.\n"
        )
    out.write("\nNext steps:\n")
    if os.path.abspath(target) != os.getcwd():
        out.write(f"  cd {shlex.quote(target)}\n")
    if locked:
        out.write("  uv sync              # .venv with the locked dependencies, pytest and ruff\n")
    out.write("  flyer run            # development server with reload on :8080\n")
    out.write("  python -m pytest     # the project's own tests\n")
    return 0
