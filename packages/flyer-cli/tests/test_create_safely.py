"""`flyer create` fails in one line and leaves nothing half-written; an unwritable log file is
one line too (issue 15, finding 12)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

import flyer_cli._create as create_module
from flyer_cli import main


def _one_line_error(result: Any, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("flyer: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("target", ["/proc/nope", "/proc/nope/shop", "/dev/null/shop"])
def test_an_impossible_directory_is_one_line(flyer, tmp_path: Path, target: str) -> None:
    result = flyer("create", "--no-lock", "shop", "--dir", target, cwd=tmp_path)
    _one_line_error(result, target)
    assert not os.path.exists(target)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line_and_untouched(flyer, tree, tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = flyer("create", "--no-lock", "shop", "--dir", str(parent / "shop"), cwd=tmp_path)
        _one_line_error(result, "Permission denied")
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)


class Outcome:
    def __init__(self, code: int, err: str) -> None:
        self.returncode, self.stderr, self.stdout = code, err, ""


@pytest.fixture
def create_failing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Outcome]:
    """Run `flyer create` in-process with the Nth file operation of `what` failing."""

    def run(*args: str, cwd: Path, what: str, nth: int) -> Outcome:
        original = getattr(create_module, what)
        calls = {"n": 0}

        def flaky(*a: Any, **k: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == nth:
                raise OSError(28, "No space left on device")
            return original(*a, **k)

        monkeypatch.setattr(create_module, what, flaky)
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(["create", "--no-lock", *args])
        monkeypatch.setattr(create_module, what, original)
        return Outcome(code, capsys.readouterr().err)

    return run


@pytest.mark.parametrize(("what", "nth"), [("_write", 1), ("_write", 20), ("_write", 37)])
def test_a_failure_part_way_leaves_no_directory(
    create_failing: Callable[..., Outcome],
    tree: Callable[[Path], Dict[str, bytes]],
    tmp_path: Path,
    what: str,
    nth: int,
) -> None:
    result = create_failing("shop", "--dir", "deep/er/shop", cwd=tmp_path, what=what, nth=nth)
    _one_line_error(result, "No space left on device", "nothing was written")
    assert tree(tmp_path) == {}  # neither the project nor the folders above it, nor a temp dir


@pytest.mark.parametrize(
    ("what", "nth"), [("_write", 1), ("_write", 30), ("_place", 1), ("_place", 25)]
)
def test_a_failure_part_way_with_force_restores_the_directory(
    create_failing: Callable[..., Outcome],
    flyer,
    tree: Callable[[Path], Dict[str, bytes]],
    tmp_path: Path,
    what: str,
    nth: int,
) -> None:
    root = tmp_path / "shop"
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    (root / "main.py").write_text("my own main")
    (root / "notes.txt").write_text("mine")
    (root / "app" / "items" / "router.py").unlink()
    before = tree(tmp_path)
    result = create_failing("shop", "--force", cwd=tmp_path, what=what, nth=nth)
    _one_line_error(result, "No space left on device", "nothing was written")
    assert tree(tmp_path) == before


def test_success_leaves_no_temporary_folder(flyer, tmp_path: Path) -> None:
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop"]
    assert flyer("create", "--no-lock", "shop", "--force", cwd=tmp_path).returncode == 0
    assert not [p for p in (tmp_path / "shop").iterdir() if p.name.startswith(".flyer")]


def test_the_project_keeps_the_usual_permissions(flyer, tmp_path: Path) -> None:
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "shop").stat().st_mode & 0o777 == 0o777 & ~umask


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("variable", ["flyer_log_file", "flyer_access_logfile"])
def test_an_unwritable_log_file_is_one_line(own_project: Path, command: str, variable: str) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update({"PYTHONDONTWRITEBYTECODE": "1", variable: "/proc/nope/flyer.log"})
    args = [command, "--host", "127.0.0.1", "--port", str(port)]
    args += ["--no-reload"] if command == "run" else ["-w", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "flyer_cli", *args],
        cwd=str(own_project),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate(timeout=30)
    result = Outcome(process.returncode, err)
    result.stdout = out
    _one_line_error(result, variable, "/proc/nope/flyer.log")
