"""flyer-telemetry's cost: flyer with it against flyer without it, paired in the same run.

    python bench/telemetry.py [--rounds 5] [--duration 4] [--only 'metrics on' ...]

Each variant is served by uvicorn beside a flyer app without the package, both pinned to
core 0 and loaded at the same moment by their own wrk on core 1 (`_wrk.measure_pair`), so
a busy neighbour slows both alike. Per round: the ratio of requests/s and the ratio of
server CPU time per request (without / with, so 1.00 costs nothing); the medians of the
rounds are printed and written to bench/out/telemetry.json.

Variants: metrics on (the default); tracing enabled with the sampler off
(`OTEL_TRACES_SAMPLER=always_off`, metrics off); tracing at 100% sampling (`always_on`,
metrics off), exporting to a loopback OTLP/HTTP sink; the same with a broken collector: the
exporter pointed at a closed port, and at a server that accepts connections and never
answers. Targets: metrics >= 0.90x, tracing with the sampler off >= 0.97x; 100% sampling is
reported, and a broken collector must cost no more than a working one (same row, same run).
Each row also gives the ratio of median latencies (with / without; 1.00 costs nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List

import _wrk  # bench/ is the script's directory, on sys.path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PATH = "/flyer/items/7"

APP = """
import os

from fastapi import APIRouter
from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin

plugins = [TelemetryPlugin()] if os.environ.get("BENCH_TELEMETRY") == "1" else []
app = create_app(apps=None, env_file=None, plugins=plugins)
router = APIRouter(prefix="/items")


@router.get("/{item_id}")
async def item(item_id: int) -> dict:
    return {"data": {"id": item_id}}


app.include_router(router, prefix="/flyer")
"""

VARIANTS: Dict[str, Dict[str, str]] = {
    "metrics on": {"BENCH_TELEMETRY": "1"},
    "tracing, sampler off": {
        "BENCH_TELEMETRY": "1",
        "flyer_metrics_enabled": "0",
        "flyer_tracing_enabled": "1",
        "OTEL_TRACES_SAMPLER": "always_off",
    },
    "tracing, 100% sampled": {
        "BENCH_TELEMETRY": "1",
        "flyer_metrics_enabled": "0",
        "flyer_tracing_enabled": "1",
        "OTEL_TRACES_SAMPLER": "always_on",
    },
    "collector down": {
        "BENCH_TELEMETRY": "1",
        "flyer_metrics_enabled": "0",
        "flyer_tracing_enabled": "1",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "{closed}",
    },
    "collector silent": {
        "BENCH_TELEMETRY": "1",
        "flyer_metrics_enabled": "0",
        "flyer_tracing_enabled": "1",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "{silent}",
    },
}
TARGETS = {"metrics on": 0.90, "tracing, sampler off": 0.97}


class _Sink(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP exports and answers 200 (the spans are not the point here)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Silent:
    """Accepts every connection and never answers (nor reads): a collector that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


def _closed_url() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _environment(workdir: Path, sink: str, **extra: str) -> Dict[str, str]:
    drop = ("flyer_", "otel_", "prometheus_multiproc_dir", "bench_")
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith(drop)}
    env.update(
        PYTHONPATH=str(workdir),
        PYTHONDONTWRITEBYTECODE="1",
        flyer_access_log="0",
        flyer_console_log_level="warning",
        OTEL_SERVICE_NAME="bench",
        OTEL_EXPORTER_OTLP_ENDPOINT=sink,
    )
    env.update(extra)
    return env


def _server(name: str, workdir: Path, env: Dict[str, str]) -> _wrk.Server:
    port = _wrk.free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench_telemetry_app:app", "--port", str(port)]
    cmd += ["--no-access-log", "--log-level", "warning"]
    log = workdir / f"{name.replace(' ', '_').replace(',', '').replace('%', '')}.log"
    return _wrk.Server(name, cmd, port, env=env, cwd=str(workdir), log=log, ready_path=PATH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4)
    parser.add_argument(
        "--only", action="append", choices=list(VARIANTS), help="run this variant (repeatable)"
    )
    args = parser.parse_args()
    chosen = {k: v for k, v in VARIANTS.items() if not args.only or k in args.only}

    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    sink_url = f"http://127.0.0.1:{sink.server_address[1]}"
    silent = _Silent()
    endpoints = {"{closed}": _closed_url(), "{silent}": silent.url}
    results: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="flyer-bench-telemetry-") as temp:
        workdir = Path(temp)
        (workdir / "bench_telemetry_app.py").write_text(APP)
        base = _server("without flyer-telemetry", workdir, _environment(workdir, sink_url))
        try:
            for variant, extra in chosen.items():
                extra = {k: endpoints.get(v, v) for k, v in extra.items()}
                server = _server(variant, workdir, _environment(workdir, sink_url, **extra))
                rps: List[float] = []
                cpu: List[float] = []
                latency: List[float] = []
                rows: List[Dict[str, float]] = []
                try:
                    for round_ in range(args.rounds):
                        # The order flips each round: neither side always starts first.
                        pair = (base, server) if round_ % 2 == 0 else (server, base)
                        first, second = _wrk.measure_pair(*pair, PATH, duration=args.duration)
                        without, with_ = (first, second) if pair[0] is base else (second, first)
                        rps.append(with_.rps / without.rps)
                        cpu.append(without.cpu_us_per_request / with_.cpu_us_per_request)
                        latency.append(with_.p50_ms / without.p50_ms)
                        rows.append(
                            {
                                "without_rps": without.rps,
                                "with_rps": with_.rps,
                                "without_cpu_us": without.cpu_us_per_request,
                                "with_cpu_us": with_.cpu_us_per_request,
                                "without_p50_ms": without.p50_ms,
                                "with_p50_ms": with_.p50_ms,
                            }
                        )
                finally:
                    server.stop()
                results[variant] = {
                    "throughput_ratio": round(_wrk.median(rps), 3),
                    "cpu_ratio": round(_wrk.median(cpu), 3),
                    "p50_latency_ratio": round(_wrk.median(latency), 3),
                    "target": TARGETS.get(variant),
                    "rounds": rows,
                }
                print(
                    f"{variant:<24} req/s {_wrk.median(rps):.3f}x   "
                    f"cpu/request {_wrk.median(cpu):.3f}x   "
                    f"p50 latency {_wrk.median(latency):.3f}x   "
                    f"target {TARGETS.get(variant, '-')}",
                    flush=True,
                )
        finally:
            base.stop()
            sink.shutdown()
            silent.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "telemetry.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
