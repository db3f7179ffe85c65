"""A collector that is down or never answers: requests keep their latency, one ERROR line,
and the worker's memory stays flat under a minute of load."""

from __future__ import annotations

import socket
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

pytestmark = pytest.mark.slow

SERVICE = """
from fastapi import APIRouter
from flyer_core import create_app

app = create_app(apps=None, env_file=None)
router = APIRouter()


@router.get("/work/{n}")
async def work(n: int) -> dict:
    return {"data": n}


app.include_router(router, prefix="/flyer")
"""

LOAD_SECONDS = 60.0


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _latencies(support: SimpleNamespace, url: str, count: int) -> List[float]:
    found = []
    for _ in range(count):
        start = time.perf_counter()
        status, _body = support.get(url)
        found.append(time.perf_counter() - start)
        assert status == 200
    return found


def test_a_dead_or_silent_collector_never_slows_requests_nor_grows_memory(
    tmp_path: Path, support: SimpleNamespace, receiver: Any
) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    closed = support.free_port()  # nothing listens there
    silent = socket.socket()  # accepts connections (backlog), never reads nor answers
    silent.bind((support.LOOPBACK, 0))
    silent.listen(128)
    endpoints = {
        "healthy": receiver.url,
        "closed": f"http://{support.LOOPBACK}:{closed}",
        "silent": f"http://{support.LOOPBACK}:{silent.getsockname()[1]}",
    }
    ports = {name: support.free_port() for name in endpoints}
    urls = {name: f"http://{support.LOOPBACK}:{port}" for name, port in ports.items()}
    logs = {name: tmp_path / f"{name}.log" for name in endpoints}

    def env(endpoint: str) -> Dict[str, str]:
        return support.clean_environ(
            flyer_tracing_enabled="1",
            flyer_log_format="json",
            flyer_access_log="0",
            OTEL_SERVICE_NAME="faults",
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_TIMEOUT="3",
            OTEL_BSP_SCHEDULE_DELAY="100",
        )

    def command(port: int) -> List[str]:
        uvicorn = [sys.executable, "-m", "uvicorn", "service:app", "--host", support.LOOPBACK]
        return [*uvicorn, "--port", str(port)]

    try:
        with support.running(
            command(ports["healthy"]),
            tmp_path,
            env(endpoints["healthy"]),
            logs["healthy"],
            f"{urls['healthy']}/health_check",
        ), support.running(
            command(ports["closed"]),
            tmp_path,
            env(endpoints["closed"]),
            logs["closed"],
            f"{urls['closed']}/health_check",
        ) as closed_server, support.running(
            command(ports["silent"]),
            tmp_path,
            env(endpoints["silent"]),
            logs["silent"],
            f"{urls['silent']}/health_check",
        ) as silent_server:
            # Paired: the same requests, interleaved, against a server whose collector works.
            paired: Dict[str, List[float]] = {name: [] for name in endpoints}
            for _ in range(5):
                for name, url in urls.items():
                    paired[name] += _latencies(support, f"{url}/flyer/work/1", 20)
            # A minute of load on both broken ones, memory read at the start and the end.
            pids = {"closed": closed_server.pid, "silent": silent_server.pid}
            start_rss = {name: _rss(pid) for name, pid in pids.items()}
            deadline = time.monotonic() + LOAD_SECONDS
            slowest = 0.0

            def load(url: str) -> float:
                worst = 0.0
                while time.monotonic() < deadline:
                    worst = max(worst, *_latencies(support, url, 10))
                return worst

            with ThreadPoolExecutor(4) as pool:
                worst = list(pool.map(load, [urls["closed"], urls["silent"]] * 2))
            slowest = max(worst)
            end_rss = {name: _rss(pid) for name, pid in pids.items()}
    finally:
        silent.close()

    healthy = statistics.median(paired["healthy"])
    for name in ("closed", "silent"):
        # Exporting happens off the request path: a broken collector costs a request nothing
        # (the bound is loose: two busy cores share three servers and the client).
        assert statistics.median(paired[name]) <= 2 * healthy + 0.005, (name, paired)
        grown = end_rss[name] - start_rss[name]
        assert grown < 25 * 2**20, f"{name}: RSS grew {grown / 2**20:.1f} MiB in a minute"
        errors = [
            line for line in logs[name].read_text().splitlines() if '"level": "error"' in line
        ]
        assert len(errors) == 1, errors
        assert '"event": "trace export failed"' in errors[0]
    # An exporter timeout (3 s) on the request path would show here.
    assert slowest < 2.5, slowest
    assert receiver.spans(), "the healthy collector received nothing"
