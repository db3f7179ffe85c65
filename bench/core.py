"""flyer-core against bare Starlette and bare FastAPI, in the same run, on one core.

    python bench/core.py [--rounds 3] [--duration 5]

Each server runs under uvicorn (same options) pinned to core 0; wrk runs on core 1. Printed:
requests/s, p50/p99 latency and server CPU time per request for each case, the median over
the rounds, and the ratios the budgets are about:

- flyer `/health_check/async` (default middleware, access log off) vs a bare Starlette route
- a `DataResponse` business route through flyer's full stack vs the same route in bare
  FastAPI, access log off and on

A ratio is flyer / bare for requests/s and bare / flyer for CPU per request (so >= 1.0 means
"as good"). CPU per request is the steadier of the two on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

# Load the shared runner by path and keep bench/ off sys.path, so a bench script named
# after a stdlib module (http.py) cannot shadow it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
_spec = importlib.util.spec_from_file_location("_wrk", _HERE / "_wrk.py")
assert _spec is not None
assert _spec.loader is not None
_wrk = importlib.util.module_from_spec(_spec)
sys.modules["_wrk"] = _wrk
_spec.loader.exec_module(_wrk)
Result, Server, free_port, median = _wrk.Result, _wrk.Server, _wrk.free_port, _wrk.median

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for module, code in APPS.items():
            (workdir / f"{module}.py").write_text(textwrap.dedent(code))
        servers = {
            "starlette": start("bare Starlette", "bare_starlette", workdir),
            "fastapi": start("bare FastAPI", "bare_fastapi", workdir),
            "flyer": start("flyer (access log off)", "flyer_app", workdir, flyer_access_log="0"),
            "flyer_log": start("flyer (access log on)", "flyer_app", workdir, flyer_access_log="1"),
        }
        cases: List[Tuple[str, str]] = [
            ("starlette", HEALTH),
            ("flyer", HEALTH),
            ("fastapi", ITEM),
            ("flyer", ITEM),
            ("flyer_log", ITEM),
        ]
        results: Dict[Tuple[str, str], List[Result]] = {case: [] for case in cases}
        try:
            print(
                f"python {platform.python_version()}, server on core 0, wrk on core 1, "
                f"{args.connections} connections, {args.duration:g} s x {args.rounds} rounds"
            )
            for number in range(args.rounds):
                print(f"-- round {number + 1}")
                for key, path in cases:
                    result = servers[key].measure(
                        path, duration=args.duration, connections=args.connections
                    )
                    results[(key, path)].append(result)
                    print(result.line())
            print("-- cold start and idle RSS")
            for server in servers.values():
                print(
                    f"{server.name:<28} start {server.cold_start_s:5.2f} s  "
                    f"idle RSS {server.idle_rss_mib:6.1f} MiB"
                )
        finally:
            for server in servers.values():
                server.stop()

    def med(key: str, path: str) -> Tuple[float, float]:
        runs = results[(key, path)]
        return median([r.rps for r in runs]), median([r.cpu_us_per_request for r in runs])

    print("-- medians")
    for key, path in cases:
        rps, cpu = med(key, path)
        print(f"{servers[key].name:<28} {path:<24} {rps:>9.0f} req/s  cpu {cpu:7.1f} us/req")
    print("-- ratios (>= target is a pass; rps = flyer/bare, cpu = bare cpu/flyer cpu)")
    checks = [
        ("health_check/async vs bare Starlette", ("flyer", HEALTH), ("starlette", HEALTH), 0.90),
        ("DataResponse route, access log off", ("flyer", ITEM), ("fastapi", ITEM), 0.95),
        ("DataResponse route, access log on", ("flyer_log", ITEM), ("fastapi", ITEM), 0.85),
    ]
    for label, ours, theirs, target in checks:
        our_rps, our_cpu = med(*ours)
        bare_rps, bare_cpu = med(*theirs)
        print(
            f"{label:<40} rps {our_rps / bare_rps:5.3f}  cpu {bare_cpu / our_cpu:5.3f}  "
            f"target {target:.2f}"
        )


if __name__ == "__main__":
    main()
