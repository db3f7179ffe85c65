"""Plumbing shared by the cross-package tests (tests/integration and tests/fuzz).

Test files cannot import each other (`--import-mode=importlib`), so every helper here is
reached through a fixture. All are session-scoped callables, usable from module-scoped fixtures:

- `free_port()`: a free loopback port.
- `flyer_env(**extra)`: the environment for a child process, without flyer's own variables.
- `http_get(url, timeout=5)`: `(status, body)` of a GET, error statuses included.
- `run_flyer(*args, cwd=..., env=None)`: `python -m flyer_cli ...` of this environment, finished.
- `start_server(command, port=..., cwd=..., env=..., log=...)`: a server process, as a
  `ServerProcess` handle (`.url`, `.wait_until_up(timeout)`, `.records()`, `.stop()`).
- `serve_project(base_dir, workers=..., **env)`: a project made by `flyer create`, under
  `flyer serve`, answering, as a context manager over its `ServerProcess`.
- `serve_app(app, timeout=10)`: an ASGI app under uvicorn in a thread, as a context manager
  over an `httpx.Client` for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional, Sequence, Tuple

import httpx
import pytest
import uvicorn

LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _flyer_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _http_get(url: str, timeout: float = 5) -> Tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def _run_flyer(
    *args: str, cwd: Path, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flyer_cli", *args],
        cwd=str(cwd),
        env=env or _flyer_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class ServerProcess:
    """A server started in its own process group, stdout and stderr going to `log`.

    `url` is `http://127.0.0.1:<port>`, `root` the directory it runs in, `pid` the process id,
    `started` the `time.monotonic()` of the launch. As a context manager it stops on exit.
    """

    def __init__(
        self, command: Sequence[str], *, port: int, cwd: Path, env: Dict[str, str], log: Path
    ) -> None:
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.root = cwd
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                list(command),
                cwd=str(cwd),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.process.pid
        self.started = time.monotonic()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def records(self) -> List[Dict[str, Any]]:
        """The log's JSON lines (flyer's structured records), parsed; other lines skipped."""
        found = []
        with self.log.open(errors="replace") as lines:
            for line in lines:
                if line.startswith("{"):
                    try:
                        found.append(json.loads(line))
                    except ValueError:
                        continue
        return found

    def wait_until_up(self, timeout: float, path: str = "/health_check") -> None:
        """Return once `path` answers 200; fail the test (with the log's tail) if the server
        exits first or does not answer within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"server exited with {self.process.returncode}:\n{self.log_text()[-4000:]}"
                )
            try:
                if _http_get(self.url + path, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"server did not answer {path} within {timeout} s:\n{self.log_text()[-4000:]}"
                )
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `sig`, wait up to `timeout` seconds for the exit code, and make sure nothing
        of the process group survives. Harmless on a server that has already stopped."""
        try:
            self.process.send_signal(sig)
            return self.process.wait(timeout)
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.process.poll() is None:
                self.process.wait(10)


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """`free_port()`: a port nothing listens on at 127.0.0.1 (bound, read, released)."""
    return _free_port


@pytest.fixture(scope="session")
def flyer_env() -> Callable[..., Dict[str, str]]:
    """`flyer_env(**extra)`: this process's environment for a child, minus every `flyer_*`
    variable and `VIRTUAL_ENV`, with `PYTHONDONTWRITEBYTECODE=1`, plus `extra`."""
    return _flyer_env


@pytest.fixture(scope="session")
def http_get() -> Callable[..., Tuple[int, bytes]]:
    """`http_get(url, timeout=5)`: `(status, body)` of a GET; 4xx/5xx are returned, not raised."""
    return _http_get


@pytest.fixture(scope="session")
def run_flyer() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_flyer(*args, cwd=dir, env=None)`: `python -m flyer_cli *args` run to completion
    (120 s at most), output captured as text; `env` defaults to `flyer_env()`."""
    return _run_flyer


@pytest.fixture(scope="session")
def start_server() -> Callable[..., ServerProcess]:
    """`start_server(command, port=p, cwd=dir, env=env, log=path)`: a `ServerProcess` for
    `command`, which must listen on 127.0.0.1:`port`; call `.wait_until_up(timeout)` next,
    and `.stop()` (or use it as a context manager) when done."""
    return ServerProcess


@pytest.fixture(scope="session")
def serve_project() -> Callable[..., ContextManager[ServerProcess]]:
    """`with serve_project(base_dir, workers=n, **env) as server:` a project made by
    `flyer create demo` in `base_dir/demo`, under `flyer serve -w n` on a free loopback port,
    answering `/health_check` (90 s at most); stopped with SIGTERM on exit.

    The server's environment is `flyer_env(**env)` with its lock files in `base_dir/locks`
    and a 5 s graceful timeout; its output goes to `base_dir/serve.log`.
    """

    @contextlib.contextmanager
    def serve(base_dir: Path, *, workers: int, **env: str) -> Iterator[ServerProcess]:
        root = base_dir / "demo"
        created = _run_flyer("create", "demo", "--dir", str(root), "--no-lock", cwd=base_dir)
        assert created.returncode == 0, created.stderr
        port = _free_port()
        flyer = Path(sys.executable).with_name("flyer")
        command = [str(flyer), "serve", "-w", str(workers), "--host", LOOPBACK, "--port", str(port)]
        environ = _flyer_env(
            flyer_sched_lock_dir=str(base_dir / "locks"), flyer_graceful_timeout="5", **env
        )
        with ServerProcess(
            command, port=port, cwd=root, env=environ, log=base_dir / "serve.log"
        ) as server:
            server.wait_until_up(90)
            yield server

    return serve


@pytest.fixture(scope="session")
def serve_app() -> Callable[..., ContextManager[httpx.Client]]:
    """`with serve_app(app, timeout=10) as client:` `app` under uvicorn (lifespan on) in a
    thread on a free loopback port, started (10 s at most); `client` is an `httpx.Client` with
    that base URL and per-request `timeout`. Leaving the block runs the app's shutdown and
    checks the server thread ended."""

    @contextlib.contextmanager
    def serve(app: Any, timeout: float = 10) -> Iterator[httpx.Client]:
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host=LOOPBACK, port=port, lifespan="on", log_level="warning")
        )
        thread = threading.Thread(target=server.run)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                assert thread.is_alive(), "server stopped during start-up"
                assert time.monotonic() < deadline, "server did not start in time"
                time.sleep(0.02)
            with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=timeout) as client:
                yield client
        finally:
            server.should_exit = True
            thread.join(15)
            assert not thread.is_alive()

    return serve
