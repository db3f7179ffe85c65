"""A real Prometheus scrapes a generated project under `flyer serve -w 4`: the sums add up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Set

import pytest

pytestmark = pytest.mark.slow

LOOPBACK = "127.0.0.1"
PROMETHEUS = shutil.which("prometheus")
# `flyer create demo` serves under /demo.
ROUTE = "/demo/users/{user_id}"


def _send(support: SimpleNamespace, url: str, count: int) -> List[int]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda _: support.get(url)[0], range(count)))


def _query(support: SimpleNamespace, prometheus: str, expression: str) -> List[Any]:
    url = f"{prometheus}/api/v1/query?query={urllib.parse.quote(expression)}"
    status, body = support.get(url)
    assert status == 200, body
    return list(json.loads(body)["data"]["result"])


def _wait_for(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(0.5)
    pytest.fail(f"{what}: last seen {last!r}")


def _value(support: SimpleNamespace, prometheus: str, expression: str) -> Any:
    result = _query(support, prometheus, expression)
    return float(result[0]["value"][1]) if result else None


def _respawned(support: SimpleNamespace, master: int, before: Set[int], killed: int) -> Set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = set(support.children(master))
        if killed not in now and len(now) == len(before):
            return now
        time.sleep(0.2)
    pytest.fail(f"worker {killed} was not replaced: {support.children(master)}")


@pytest.mark.skipif(PROMETHEUS is None, reason="needs the prometheus server (Debian: prometheus)")
def test_prometheus_sums_every_worker_a_killed_one_included(
    project: Path, tmp_path: Path, support: SimpleNamespace
) -> None:
    port, prom_port = support.free_port(), support.free_port()
    base = f"http://{LOOPBACK}:{port}"
    env = support.clean_environ(flyer_access_log="0")
    command = [
        *support.flyer_command(),
        "serve",
        "-w",
        "4",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    with support.running(
        command, project, env, tmp_path / "serve.log", f"{base}/health_check"
    ) as server:
        deadline = time.monotonic() + 60
        while len(support.children(server.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = set(support.children(server.pid))
        assert len(workers) == 4

        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: flyer\n    metrics_path: /demo/metrics\n"
            f"    static_configs:\n      - targets: ['{LOOPBACK}:{port}']\n"
        )
        prom_command = [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address={LOOPBACK}:{prom_port}",
        ]
        prometheus = f"http://{LOOPBACK}:{prom_port}"
        with support.running(
            prom_command, tmp_path, dict(os.environ), tmp_path / "prom.log", f"{prometheus}/-/ready"
        ):
            url = f"{base}/demo/users/1"
            first = _send(support, url, 500)
            # Half-way: one worker SIGKILLed (no clean exit), gunicorn starts another.
            killed = sorted(workers)[0]
            os.kill(killed, signal.SIGKILL)
            workers = _respawned(support, server.pid, workers, killed)
            _wait_for(
                "the app answers after the respawn", lambda: support.answers(f"{base}/health_check")
            )
            second = _send(support, url, 500)
            assert len(first) + len(second) == 1000
            assert set(first + second) <= {200, 404}, set(first + second)

            total = f'sum(flyer_requests_total{{route="{ROUTE}"}})'
            count = f'sum(flyer_request_duration_seconds_count{{route="{ROUTE}"}})'
            _wait_for(
                "request counter sum",
                lambda: (
                    _value(support, prometheus, total) == 1000.0
                    or _value(support, prometheus, total)
                ),
            )
            _wait_for(
                "histogram count sum",
                lambda: (
                    _value(support, prometheus, count) == 1000.0
                    or _value(support, prometheus, count)
                ),
            )
            assert _value(support, prometheus, total) == 1000.0
            assert _value(support, prometheus, count) == 1000.0

            def live_pids() -> Any:
                pids = {
                    int(r["metric"]["pid"])
                    for r in _query(support, prometheus, "flyer_process_resident_memory_bytes")
                }
                return pids == workers or sorted(pids)

            _wait_for("process metrics of every live worker", live_pids)
            for name in ("flyer_process_cpu_seconds", "flyer_process_open_fds"):
                pids = {int(r["metric"]["pid"]) for r in _query(support, prometheus, name)}
                assert pids == workers, name
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_a_restarted_server_starts_clean_and_its_directory_goes(
    project: Path, tmp_path: Path, support: SimpleNamespace
) -> None:
    port = support.free_port()
    base = f"http://{LOOPBACK}:{port}"
    shared = tmp_path / "shared"
    env = support.clean_environ(flyer_access_log="0", PROMETHEUS_MULTIPROC_DIR=str(shared))
    command = [
        *support.flyer_command(),
        "serve",
        "-w",
        "2",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    pattern = f'flyer_requests_total{{method="GET",route="{ROUTE}",status='

    def served(text: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(pattern)
        )

    for run, requests in enumerate((3, 2)):
        with support.running(
            command, project, env, tmp_path / f"serve-{run}.log", f"{base}/health_check"
        ):
            for _ in range(requests):
                support.get(f"{base}/demo/users/1")
            status, text = support.get(f"{base}/demo/metrics")
            assert status == 200
            assert served(text) == requests  # not 5: the first run's counts are gone
    # A directory of the user's own is kept (emptied at the next start); one flyer made goes.
    assert shared.is_dir()
    env = support.clean_environ(flyer_access_log="0")
    log = tmp_path / "serve-own.log"
    with support.running(command, project, env, log, f"{base}/health_check"):
        pass
    made = [
        line for line in log.read_text().splitlines() if "metrics shared by the workers" in line
    ]
    assert made, log.read_text()[-2000:]
    directory = json.loads(made[0])["directory"]
    assert not Path(directory).exists()
