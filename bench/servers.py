"""The servers `bench/run.py` compares, and how to measure a whole process tree.

The apps are `bench/core.py`'s (its `business` route module and `flyer_app`), plus bare
Starlette and bare FastAPI apps that serve *both* benchmarked paths, so every case has a bare
counterpart under the same uvicorn options:

- `/health_check/async`: a liveness answer (flyer's is a plain Starlette route).
- `/flyer/items/7`: a business route answering `DataResponse[Item]` (bare Starlette builds the
  same JSON by hand: the floor no framework can beat).

flyer also runs under gunicorn with one uvicorn worker and under granian (when installed),
both through `flyer_core.run_prod`, as `flyer serve` runs them. Every server is pinned to one
core by `bench/_wrk.py`; CPU time is summed over the server's whole process tree, so the
gunicorn and granian workers are counted.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import _wrk as wrk  # bench/ is the script's directory, on sys.path
import core

HERE = Path(__file__).resolve().parent


HEALTH: str = core.HEALTH
ITEM: str = core.ITEM

EXTRA_APPS = {
    "bare_starlette_full": """
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            return JSONResponse({"code": 200, "message": "OK", "detail": "", "data": None})

        async def item(request):
            item_id = int(request.path_params["item_id"])
            return JSONResponse({
                "code": 200, "message": "", "detail": "",
                "data": {"itemId": item_id, "name": "widget", "tags": ["a", "b"]},
                "request_id": "",
            })

        app = Starlette(routes=[
            Route("/health_check/async", health),
            Route("/flyer/items/{item_id}", item),
        ])
    """,
    "bare_fastapi_full": """
        from fastapi import FastAPI
        from business import router

        app = FastAPI()

        @app.get("/health_check/async")
        async def health():
            return {"code": 200, "message": "OK", "detail": "", "data": None}

        app.include_router(router, prefix="/flyer")
    """,
    # Litestar with the same pydantic model, and with msgspec Structs (its fastest way).
    "litestar_pydantic": """
        from litestar import Litestar, get
        from pydantic import BaseModel
        from flyer_status.schemas import DataResponse

        class Item(BaseModel):
            itemId: int
            name: str
            tags: list

        @get("/health_check/async")
        async def health() -> dict:
            return {"code": 200, "message": "OK", "detail": "", "data": None}

        @get("/flyer/items/{item_id:int}")
        async def item(item_id: int) -> DataResponse[Item]:
            return DataResponse[Item](
                code=200, data=Item(itemId=item_id, name="widget", tags=["a", "b"])
            )

        app = Litestar([health, item], logging_config=None)
    """,
    "litestar_msgspec": """
        from typing import Optional

        import msgspec
        from litestar import Litestar, get

        class Item(msgspec.Struct):
            itemId: int
            name: str
            tags: list

        class DataResponse(msgspec.Struct):
            code: int = 200
            message: str = ""
            detail: str = ""
            data: Optional[Item] = None
            request_id: str = ""

        @get("/health_check/async")
        async def health() -> dict:
            return {"code": 200, "message": "OK", "detail": "", "data": None}

        @get("/flyer/items/{item_id:int}")
        async def item(item_id: int) -> DataResponse:
            return DataResponse(data=Item(itemId=item_id, name="widget", tags=["a", "b"]))

        app = Litestar([health, item], logging_config=None)
    """,
    "flyer_plugins_app": """
        from flyer_core import create_app
        from business import router

        # Every installed flyer plugin (cache, db, http, sched), as a generated project has.
        app = create_app(None)
        app.include_router(router, prefix="/flyer")
    """,
}


def write_apps(workdir: Path) -> None:
    """Write every app module into `workdir` (it goes on the servers' PYTHONPATH)."""
    for module, code in {**core.APPS, **EXTRA_APPS}.items():
        (workdir / f"{module}.py").write_text(textwrap.dedent(code))


def environment(workdir: Path, **extra: str) -> Dict[str, str]:
    """The servers' environment: no inherited flyer_* variables, JSON logs, the apps importable."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update(
        {
            "flyer_log_format": "json",
            "flyer_sched_lock_dir": str(workdir / "locks"),
            "PYTHONPATH": str(workdir),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    return env


def uvicorn_server(name: str, module: str, workdir: Path, **env: str) -> Any:
    """`bench/core.py`'s uvicorn command (same options for every app)."""
    return core.start(name, module, workdir, **env)


def prod_server(name: str, server: str, module: str, workdir: Path, **env: str) -> Any:
    """flyer's production runner (`flyer serve`): gunicorn + one uvicorn worker, or granian."""
    port = wrk.free_port()
    code = (
        "from flyer_core import run_prod; "
        f"run_prod({module + ':app'!r}, workers=1, host='127.0.0.1', port={port}, "
        f"server={server!r})"
    )
    return wrk.Server(
        name,
        [sys.executable, "-c", code],
        port,
        env=environment(workdir, **env),
        cwd=str(workdir),
        log=workdir / f"{name.replace(' ', '_')}.log",
        ready_path=HEALTH,
    )


def granian_available() -> bool:
    return importlib.util.find_spec("granian") is not None


def litestar_python() -> str:
    """The interpreter of Litestar's environment (`nox -s bench` makes one of its own, so what
    Litestar installs stays out of flyer's); this one when none is named."""
    return os.environ.get("FLYER_BENCH_LITESTAR_PYTHON") or sys.executable


def litestar_available() -> bool:
    found = subprocess.run(
        [litestar_python(), "-c", "import litestar, msgspec, uvicorn"], capture_output=True
    )
    return found.returncode == 0


def litestar_server(name: str, module: str, workdir: Path) -> Any:
    """A Litestar app under uvicorn, the options `bench/core.py` gives every other app, run by
    Litestar's environment's interpreter."""
    port = wrk.free_port()
    cmd = [
        litestar_python(), "-m", "uvicorn", f"{module}:app", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
        "--no-proxy-headers", "--no-server-header",
    ]  # fmt: skip
    return wrk.Server(
        name, cmd, port, env=environment(workdir), cwd=str(workdir),
        log=workdir / f"{name.replace(' ', '_')}.log",
    )  # fmt: skip


def tree(pid: int) -> List[int]:
    """`pid` and every live descendant."""
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of `pid` and its live descendants (plus what they reaped)."""
    total = 0.0
    for member in tree(pid):
        try:
            total += wrk.cpu_seconds(member)
        except (OSError, IndexError, ValueError):
            continue
    return total


def tree_rss_mib(pid: int) -> Dict[str, float]:
    """Resident memory of the process tree: per process, in MiB."""
    sizes = {}
    for member in tree(pid):
        try:
            sizes[str(member)] = wrk.rss_mib(member)
        except OSError:
            continue
    return sizes


def measure(
    server: Any,
    path: str,
    *,
    duration: float,
    connections: int,
    warmup: float = 1.0,
    threads: int = 2,
) -> Dict[str, float]:
    """wrk against `server`: requests/s, p50/p99 (ms) and server CPU microseconds per request
    (over the whole process tree)."""
    url = server.url + path
    if warmup:
        wrk.run_wrk(url, warmup, connections, threads)
    pid = server.process.pid
    before = tree_cpu_seconds(pid)
    stats = wrk.run_wrk(url, duration, connections, threads)
    used = tree_cpu_seconds(pid) - before
    return {
        "requests": stats["requests"],
        "rps": stats["rps"],
        "p50_ms": stats["p50_ms"],
        "p99_ms": stats["p99_ms"],
        "cpu_us_per_request": used / stats["requests"] * 1e6,
    }


def versions(names: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Installed versions of the distributions the numbers depend on."""
    from importlib import metadata

    wanted = names or {
        d: d
        for d in (
            "fastapi",
            "starlette",
            "pydantic",
            "uvicorn",
            "gunicorn",
            "uvicorn-worker",
            "granian",
            "httpx",
            "redis",
            "flyer-core",
            "flyer-status",
            "flyer-http",
            "flyer-sched",
        )
    }
    found = {}
    for label, dist in wanted.items():
        try:
            found[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found
