"""A generated project, for real: `flyer create` -> fresh venv -> its own tests -> `flyer serve`.

The project is installed into a new virtual environment together with the local packages
(never the index's flyer-*), its tests run there, then `flyer serve -w 2` answers on a
loopback port, the demo job runs once per tick across both workers, and SIGTERM stops it
cleanly. Also: the README's demo command path (`flyer create` + `flyer run`) answers
`/health_check`, and bad inputs are one-line errors that write nothing.
"""

from __future__ import annotations

import collections
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"
LOCAL = [
    f"{PACKAGES / 'flyer-status'}[models]",
    str(PACKAGES / "flyer-http"),
    str(PACKAGES / "flyer-cache"),
    str(PACKAGES / "flyer-db"),
    str(PACKAGES / "flyer-sched"),
    str(PACKAGES / "flyer-mcp"),
    f"{PACKAGES / 'flyer-core'}[all]",
    str(PACKAGES / "flyer-cli"),
]
PREFIX = "/demo"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory,
    run_flyer: Callable[..., subprocess.CompletedProcess[str]],
    flyer_env: Callable[..., Dict[str, str]],
) -> Tuple[Path, Path]:
    """(project directory, venv bin directory): a generated project installed in a new venv."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build the project's virtual environment")
    base = tmp_path_factory.mktemp("cli-project")
    root = base / "demo"
    created = run_flyer("create", "demo", "--dir", str(root), "--no-lock", cwd=base)
    assert created.returncode == 0, created.stderr
    venv = base / "venv"
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=flyer_env())
    python = venv / "bin" / "python"
    pyproject = root / "pyproject.toml"
    import tomllib

    groups = tomllib.loads(pyproject.read_text())["dependency-groups"]["test"]
    installed = subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(python),
            *LOCAL,
            "-r",
            str(root / "pyproject.toml"),
            *groups,
        ],
        env=flyer_env(UV_PYTHON_DOWNLOADS="never"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-4000:]
    return root, venv / "bin"


def test_the_generated_projects_own_tests_pass(
    project: Tuple[Path, Path], flyer_env: Callable[..., Dict[str, str]]
) -> None:
    root, bin_dir = project
    result = subprocess.run(
        [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=str(root),
        env=flyer_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_flyer_serve_with_two_workers(
    project: Tuple[Path, Path],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    http_get: Callable[..., Tuple[int, bytes]],
    start_server: Callable[..., Any],
) -> None:
    """Health, ready, docs, demo endpoints and /tasks answer; the heartbeat runs once per tick
    across both workers (lock files by default, Redis when configured); SIGTERM exits 0."""
    root, bin_dir = project
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = flyer_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        flyer_heartbeat_seconds="1",
        flyer_log_format="json",
        flyer_access_log="0",
        flyer_graceful_timeout="10",
        flyer_sched_lock_dir=str(tmp_path / "locks"),
        # /tasks is refused with auth off unless opened; this test reads it without auth.
        flyer_management_open_without_auth="1",
    )
    prefix = f"test-cli-{secrets.token_hex(6)}"
    if backend == "redis":
        env["flyer_redis_url"] = request.getfixturevalue("redis_url")
        env["flyer_sched_lock_prefix"] = prefix
    server = start_server(
        [str(bin_dir / "flyer"), "serve", "-w", "2", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        cwd=root,
        env=env,
        log=log,
    )
    try:
        server.wait_until_up(90)
        for path in ["/health_check", "/health_check/async", f"{PREFIX}/health_check"]:
            status, body = http_get(base + path)
            assert status == 200, (path, body)
            assert json.loads(body)["code"] == 200
        status, body = http_get(f"{base}{PREFIX}/ready")
        assert status == 200, body
        status, body = http_get(f"{base}{PREFIX}/docs")
        assert status == 200
        assert b"swagger" in body.lower()
        status, body = http_get(f"{base}{PREFIX}/openapi.json")
        assert status == 200
        assert f"{PREFIX}/items" in json.loads(body)["paths"]

        status, body = http_get(f"{base}{PREFIX}/items")
        assert status == 200
        assert json.loads(body)["pageInfo"]["total"] >= 2
        status, body = http_get(f"{base}{PREFIX}/users/1")
        assert status == 200
        assert json.loads(body)["data"]["name"] == "ada"
        status, body = http_get(f"{base}{PREFIX}/heartbeat")
        assert status == 200
        assert "heartbeats" in json.loads(body)["data"]
        status, body = http_get(f"{base}{PREFIX}/items/999999")
        assert status == 404
        assert json.loads(body)["code"] == 404

        status, body = http_get(f"{base}{PREFIX}/tasks")
        assert status == 200, body
        assert "heartbeat" in body.decode()

        # Let the 1-second heartbeat tick a few times in both workers.
        time.sleep(6)
    finally:
        code = server.stop()
    output = log.read_text(errors="replace")
    assert code == 0, output[-4000:]
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(env["flyer_redis_url"])
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        assert keys, "the locks lived in Redis"
    else:
        assert any((tmp_path / "locks").iterdir()), "the locks lived in lock files"

    records = server.records()
    booted = set(re.findall(r"Booting worker with pid: (\d+)", output))
    assert len(booted) == 2, output[-4000:]
    started = [r for r in records if r.get("event") == "Application startup complete."]
    assert len(started) == 2, "both workers start the app (and its scheduler)"
    beats = [r for r in records if r.get("event") == "heartbeat"]
    per_tick = collections.Counter(r["tick"] for r in beats)
    assert len(per_tick) >= 3, output[-4000:]
    duplicated = {tick: n for tick, n in per_tick.items() if n > 1}
    assert duplicated == {}, f"ticks run more than once: {duplicated}"
    assert {str(r["pid"]) for r in beats} <= booted
    # The scheduler's own run lines agree: one success per tick, fleet-wide.
    runs = [r for r in records if r.get("job_id") == "heartbeat" and r.get("outcome") == "success"]
    assert sorted(r["tick"] for r in runs) == sorted(per_tick)


def test_bad_inputs_are_one_line_errors_that_write_nothing(
    project: Tuple[Path, Path],
    tmp_path: Path,
    run_flyer: Callable[..., subprocess.CompletedProcess[str]],
    flyer_env: Callable[..., Dict[str, str]],
) -> None:
    root, bin_dir = project

    def snapshot(path: Path) -> Dict[str, float]:
        return {
            str(p): p.stat().st_mtime
            for p in sorted(path.rglob("*"))
            if "__pycache__" not in p.parts
        }

    def one_line(result: subprocess.CompletedProcess[str], needle: str) -> None:
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("flyer: error: ")
        assert needle in lines[0], lines[0]

    empty_before = snapshot(tmp_path)
    one_line(run_flyer("create", "9lives", cwd=tmp_path), "project name '9lives'")
    one_line(run_flyer("deploy", cwd=tmp_path), "invalid choice: 'deploy'")
    assert snapshot(tmp_path) == empty_before == {}

    before = snapshot(root)
    one_line(run_flyer("create", "demo", "--dir", str(root), cwd=tmp_path), "is not empty")
    env = flyer_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", flyer_port="abc")
    for command in (["serve"], ["run"], ["config"], ["routes"]):
        result = subprocess.run(
            [str(bin_dir / "flyer"), *command],
            cwd=str(root),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        one_line(result, "flyer_port='abc': expected an integer 1-65535")
    assert snapshot(root) == before


def test_the_demo_command_path_answers_health_check(
    tmp_path: Path,
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    http_get: Callable[..., Tuple[int, bytes]],
    run_flyer: Callable[..., subprocess.CompletedProcess[str]],
    start_server: Callable[..., Any],
) -> None:
    """What `nox -s demo` runs: create ./demo with --force, then `flyer run` inside it."""
    target = tmp_path / "demo"
    created = run_flyer(
        "create", "demo", "--dir", str(target), "--force", "--no-lock", cwd=tmp_path
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    server = start_server(
        [sys.executable, "-m", "flyer_cli", "run", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        cwd=target,
        env=flyer_env(flyer_sched_lock_dir=str(tmp_path / "locks")),
        log=tmp_path / "run.log",
    )
    try:
        server.wait_until_up(90)
        status, body = http_get(f"http://127.0.0.1:{port}/health_check")
        assert status == 200
        assert json.loads(body)["code"] == 200
        status, _ = http_get(f"http://127.0.0.1:{port}{PREFIX}/docs")
        assert status == 200
    finally:
        code = server.stop(signal.SIGINT)
    output = server.log_text()
    assert f"http://127.0.0.1:{port}{PREFIX}/docs" in output
    assert code == 0, output[-4000:]
