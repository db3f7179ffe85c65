"""flyer-core against bare Starlette and bare FastAPI, in the same run, on one core.

    python bench/core.py [--rounds 3] [--duration 5]

Each server runs under uvicorn (same options) pinned to core 0; wrk runs on core 1. Each
comparison loads flyer's server and the bare one at the same time (one wrk each), so both share
core 0 and whatever slows it slows both (`_wrk.measure_pair`); every round starts fresh server
processes. Printed: requests/s, p50/p99 latency and server CPU time per request for each case,
and the medians over the rounds of the per-round ratios the budgets are about:

- flyer `/health_check/async` (default middleware, access log off) vs a bare Starlette route
- a `DataResponse` business route through flyer's full stack vs the same route in bare
  FastAPI, access log off and on

A ratio is flyer / bare for requests/s and bare / flyer for CPU per request (so >= 1.0 means
"as good"). CPU per request is the steadier of the two on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import _wrk  # bench/ is the script's directory, on sys.path

Result, Server, free_port, median = _wrk.Result, _wrk.Server, _wrk.free_port, _wrk.median
measure_pair = _wrk.measure_pair

APPS = {
    "bare_starlette": """
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            return JSONResponse({"code": 200, "message": "OK", "detail": "", "data": None})

        app = Starlette(routes=[Route("/health_check/async", health)])
    """,
    "bare_fastapi": """
        from fastapi import FastAPI
        from business import router

        app = FastAPI()
        app.include_router(router, prefix="/flyer")
    """,
    "flyer_app": """
        from flyer_core import create_app
        from business import router

        app = create_app(None, plugins=[])
        app.include_router(router, prefix="/flyer")
    """,
    "business": """
        from pydantic import BaseModel
        from fastapi import APIRouter
        from flyer_status import status
        from flyer_status.schemas import DataResponse

        class Item(BaseModel):
            itemId: int
            name: str
            tags: list

        router = APIRouter()

        @router.get("/items/{item_id}", response_model=DataResponse[Item])
        async def get_item(item_id: int):
            return {
                "code": status.HTTP_200_OK,
                "data": {"itemId": item_id, "name": "widget", "tags": ["a", "b"]},
            }
    """,
}

HEALTH = "/health_check/async"
ITEM = "/flyer/items/7"


def start(name: str, module: str, workdir: Path, **env: str) -> Server:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", f"{module}:app", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
        "--no-proxy-headers", "--no-server-header",
    ]  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    environ.update({"flyer_log_format": "json", "PYTHONPATH": str(workdir), **env})
    return Server(name, cmd, port, env=environ, cwd=str(workdir), log=workdir / f"{name}.log")


def _scope(path: str) -> Dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


async def _cpu_per_call(app: Any, path: str, calls: int, batches: int) -> float:
    """Least CPU time per call of `app` over `batches` (process time: other processes on the
    machine do not count). The loop turns once per call, as in a server."""

    async def receive() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Dict[str, Any]) -> None:
        pass

    best = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(calls):
            await app(_scope(path), receive, send)
            await asyncio.sleep(0)
        best = min(best, (time.process_time() - started) / calls)
    return best * 1e6


def in_process(workdir: Path, calls: int = 3000, batches: int = 7) -> None:
    """The apps called directly, without server or network: flyer's own cost, steadily."""
    sys.path.insert(0, str(workdir))
    try:
        import bare_fastapi
        import bare_starlette
        from business import router

        from flyer_core import create_app, load_settings
    finally:
        sys.path.remove(str(workdir))

    def flyer(access_log: str) -> Any:
        settings = load_settings(None, {"flyer_log_format": "json", "flyer_access_log": access_log})
        app = create_app(None, settings, plugins=[])
        app.include_router(router, prefix="/flyer")
        return app

    apps = {"flyer": flyer("0"), "flyer_log": flyer("1")}
    apps["starlette"], apps["fastapi"] = bare_starlette.app, bare_fastapi.app

    async def measure() -> Dict[Tuple[str, str], float]:
        found: Dict[Tuple[str, str], float] = {}
        for key, path in [
            ("starlette", HEALTH), ("flyer", HEALTH), ("fastapi", ITEM), ("flyer", ITEM),
            ("flyer_log", ITEM),
        ]:  # fmt: skip
            found[(key, path)] = await _cpu_per_call(apps[key], path, calls, batches)
        return found

    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull  # flyer's log lines (access lines included) go nowhere
        try:
            cpu = asyncio.run(measure())
        finally:
            sys.stdout = real_stdout
    print("-- in process: CPU time per call, no server (ratio = bare / flyer)")
    for label, ours, theirs, target in [
        ("health_check/async vs bare Starlette", ("flyer", HEALTH), ("starlette", HEALTH), 0.90),
        ("DataResponse route, access log off", ("flyer", ITEM), ("fastapi", ITEM), 0.95),
        ("DataResponse route, access log on", ("flyer_log", ITEM), ("fastapi", ITEM), 0.85),
    ]:
        print(
            f"{label:<38} flyer {cpu[ours]:6.1f} us | bare {cpu[theirs]:6.1f} us | "
            f"ratio {cpu[theirs] / cpu[ours]:5.3f} (target {target:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--connections", type=int, default=32, help="per server")
    parser.add_argument("--in-process-only", action="store_true", help="skip the wrk runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for module, code in APPS.items():
            (workdir / f"{module}.py").write_text(textwrap.dedent(code))
        in_process(workdir)
        if args.in_process_only:
            return

        def start_servers() -> Dict[str, Server]:
            return {
                "starlette": start("bare Starlette", "bare_starlette", workdir),
                "fastapi": start("bare FastAPI", "bare_fastapi", workdir),
                "flyer": start(
                    "flyer (access log off)", "flyer_app", workdir, flyer_access_log="0"
                ),
                "flyer_log": start(
                    "flyer (access log on)", "flyer_app", workdir, flyer_access_log="1"
                ),
            }

        # (label, flyer case, bare case, target): each round loads both servers at once, on
        # the same core (`_wrk.measure_pair`), so drift of the shared machine hits both alike.
        pairs = [
            (
                "health_check/async vs bare Starlette",
                ("flyer", HEALTH),
                ("starlette", HEALTH),
                0.90,
            ),
            ("DataResponse route, access log off", ("flyer", ITEM), ("fastapi", ITEM), 0.95),
            ("DataResponse route, access log on", ("flyer_log", ITEM), ("fastapi", ITEM), 0.85),
        ]
        results: Dict[int, List[Tuple[Result, Result]]] = {}
        starts: Dict[str, List[Tuple[float, float]]] = {}
        print(
            f"python {platform.python_version()}, servers on core 0, wrk on core 1, "
            f"{args.connections} connections per server, {args.duration:g} s per run, "
            f"{args.rounds} rounds of fresh servers; each pair loaded at once"
        )
        for number in range(args.rounds):
            # Fresh processes every round: one process can run a few percent faster or slower
            # than an identical one for the whole of its life (memory layout, hash seed), so
            # the rounds' median is over processes as well as over time.
            print(f"-- round {number + 1}")
            servers = start_servers()
            try:
                for server in servers.values():
                    starts.setdefault(server.name, []).append(
                        (server.cold_start_s, server.idle_rss_mib)
                    )
                for index, (_, (ours, our_path), (theirs, their_path), _) in enumerate(pairs):
                    assert our_path == their_path
                    bare, flyer = measure_pair(
                        servers[theirs],
                        servers[ours],
                        our_path,
                        duration=args.duration,
                        connections=args.connections,
                    )
                    results.setdefault(index, []).append((flyer, bare))
                    print(flyer.line())
                    print(bare.line())
            finally:
                for server in servers.values():
                    server.stop()
        print("-- cold start and idle RSS (medians over the rounds)")
        for name, seen in starts.items():
            cold = median([c for c, _ in seen])
            rss = median([r for _, r in seen])
            print(f"{name:<28} start {cold:5.2f} s  idle RSS {rss:6.1f} MiB")

    print("-- medians and ratios (rps = flyer/bare; cpu = bare/flyer CPU time per request)")
    for index, (label, _, _, target) in enumerate(pairs):
        runs = results[index]
        rps = median([flyer.rps / bare.rps for flyer, bare in runs])
        cpu = median([bare.cpu_us_per_request / flyer.cpu_us_per_request for flyer, bare in runs])
        our_cpu = median([flyer.cpu_us_per_request for flyer, _ in runs])
        bare_cpu = median([bare.cpu_us_per_request for _, bare in runs])
        print(
            f"{label:<38} flyer {our_cpu:6.1f} us | bare {bare_cpu:6.1f} us | "
            f"rps {rps:5.3f} cpu {cpu:5.3f} (target {target:.2f})"
        )


if __name__ == "__main__":
    main()
