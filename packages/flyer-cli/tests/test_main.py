"""The command line itself: help, version, and one-line errors for bad arguments."""

from __future__ import annotations

import pytest

from flyer_cli import __version__, main

COMMANDS = ["create", "create_app", "run", "serve", "routes", "config", "version"]


def test_help_lists_every_command(flyer) -> None:
    result = flyer("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"\n    {command}" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(flyer, command: str) -> None:
    result = flyer(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: flyer {command}")


def test_version_flag(flyer) -> None:
    result = flyer("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"flyer-cli {__version__}"


def test_no_command_prints_help_and_fails(flyer) -> None:
    result = flyer()
    assert result.returncode == 2
    assert "usage: flyer" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["deploy"], "invalid choice: 'deploy'"),
        (["run", "--port", "abc"], "'abc': expected an integer 1-65535"),
        (["serve", "--port", "70000"], "'70000': expected an integer 1-65535"),
        (["serve", "-w", "0"], "'0': expected an integer >= 1"),
        (["serve", "--server", "waitress"], "invalid choice: 'waitress'"),
        (["routes", "--app", "main"], "'main': expected MODULE:ATTRIBUTE"),
        (["create"], "the following arguments are required: NAME"),
        (["version", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_one_line_errors(flyer, args: list, needle: str) -> None:
    result = flyer(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flyer: error: ")
    assert needle in lines[0]


def test_main_returns_the_exit_status_in_process(capsys) -> None:
    assert main(["version"]) == 0
    assert "flyer-cli" in capsys.readouterr().out


def test_importing_flyer_cli_does_not_import_the_framework(flyer, tmp_path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys, flyer_cli; "
        "heavy = [m for m in ('fastapi', 'flyer_core', 'pydantic', 'uvicorn') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert out.strip() == "[]"
