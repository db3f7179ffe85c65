"""flyer_http.Client.get against raw httpx.Client.get (and the async pair), side by side.

A minimal ASGI app served by uvicorn runs in a separate process pinned to one core; the
clients run in this process pinned to another. Rounds interleave raw httpx and flyer (the
order alternating each round) so drift on a shared machine hits both alike. For each pair
it prints requests/s and the client's CPU time per request (this process's utime+stime
over the round / requests), and flyer's ratios to raw httpx as the median of the per-round
ratios (target: >= 0.95x). On a shared machine requests/s swings from round to round; CPU
per request is the steadier figure.

    python bench/http.py [--requests 100] [--rounds 101] [--log]

Needs flyer-http and uvicorn installed. `--log` also measures flyer with its per-call INFO
line emitted to a handler that discards it (the default, logging not configured, builds no
log line at all).
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `http` package, which httpx imports: keep
# its directory off the import path so `import http` finds the real one.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import asyncio
import logging
import multiprocessing
import socket
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

import httpx

import flyer_http


async def _app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


def _serve(port: int, core: int) -> None:
    import uvicorn

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    uvicorn.run(
        _app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the bench server did not start on port {port}")


def _measure(run: Callable[[int], None], n: int) -> Tuple[float, float]:
    """(requests per second, client CPU microseconds per request) for n requests."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return n / wall, cpu / n * 1e6


def _sync_runner(client: httpx.Client, url: str) -> Callable[[int], None]:
    def run(n: int) -> None:
        get = client.get
        for _ in range(n):
            get(url)

    return run


def _async_runner(client: httpx.AsyncClient, url: str, loop: Any) -> Callable[[int], None]:
    async def many(n: int) -> None:
        get = client.get
        for _ in range(n):
            await get(url)

    return lambda n: loop.run_until_complete(many(n))


def _compare(name: str, runners: Dict[str, Callable[[int], None]], n: int, rounds: int) -> None:
    for run in runners.values():  # warm up pools, imports and caches
        run(max(50, n // 10))
    results: Dict[str, List[Tuple[float, float]]] = {key: [] for key in runners}
    keys = list(runners)
    for i in range(rounds):
        for key in keys if i % 2 == 0 else reversed(keys):
            results[key].append(_measure(runners[key], n))
    base = results["httpx"]
    print(f"\n{name}: {rounds} interleaved rounds of {n} sequential GETs")
    print(f"  {'client':<22} {'req/s':>8} {'CPU us/req':>11}   {'ratio (median of rounds)':>26}")
    for key in keys:
        rps = statistics.median(r for r, _ in results[key])
        cpu = statistics.median(c for _, c in results[key])
        speed = statistics.median(r / b for (r, _), (b, _) in zip(results[key], base))
        cost = statistics.median(b / c for (_, c), (_, b) in zip(results[key], base))
        print(f"  {key:<22} {rps:8.0f} {cpu:11.1f}   throughput {speed:5.3f}x  CPU {cost:5.3f}x")


def _overhead(n: int = 20000) -> None:
    """CPU microseconds per call against an in-process transport: flyer's own cost, unhidden."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"ok":true}')

    costs: Dict[str, List[float]] = {"httpx": [], "flyer": []}
    clients = {
        "httpx": httpx.Client(transport=httpx.MockTransport(handler)),
        "flyer": flyer_http.Client(transport=httpx.MockTransport(handler)),
    }
    for client in clients.values():
        _sync_runner(client, "http://bench.invalid/item")(n // 10)
    for _ in range(5):
        for key, client in clients.items():
            costs[key].append(_measure(_sync_runner(client, "http://bench.invalid/item"), n)[1])
    raw, flyer = (statistics.median(costs[k]) for k in ("httpx", "flyer"))
    print(
        f"\nno network (mock transport): httpx {raw:.1f} us/call, flyer {flyer:.1f} us/call, "
        f"flyer adds {flyer - raw:.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per round")
    parser.add_argument("--rounds", type=int, default=101)
    parser.add_argument("--log", action="store_true", help="also measure with INFO lines on")
    args = parser.parse_args()

    _overhead()
    port = _free_port()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_core, client_core = cores[-1], cores[0]
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(port, server_core), daemon=True
    )
    server.start()
    try:
        _wait_for(port)
        if hasattr(os, "sched_setaffinity") and len(cores) > 1:
            os.sched_setaffinity(0, {client_core})
        url = f"http://127.0.0.1:{port}/item"
        print(
            f"server on core {server_core}, client on core {client_core}; "
            f"httpx {httpx.__version__}, flyer-http {flyer_http.__version__}"
        )

        logger = logging.getLogger("flyer.http")
        with httpx.Client() as raw, flyer_http.Client() as flyer:
            runners = {"httpx": _sync_runner(raw, url), "flyer": _sync_runner(flyer, url)}
            if args.log:
                logged = flyer_http.Client()
                run_logged = _sync_runner(logged, url)

                def with_log(n: int) -> None:
                    logger.setLevel(logging.INFO)
                    try:
                        run_logged(n)
                    finally:
                        logger.setLevel(logging.NOTSET)

                runners["flyer, INFO line/call"] = with_log
            _compare("sync  Client.get", runners, args.requests, args.rounds)

        loop = asyncio.new_event_loop()
        raw_async = httpx.AsyncClient()
        flyer_async = flyer_http.AsyncClient()
        try:
            runners = {
                "httpx": _async_runner(raw_async, url, loop),
                "flyer": _async_runner(flyer_async, url, loop),
            }
            _compare("async AsyncClient.get", runners, args.requests, args.rounds)
        finally:
            loop.run_until_complete(raw_async.aclose())
            loop.run_until_complete(flyer_async.aclose())
            loop.close()
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    logging.getLogger("flyer.http").addHandler(logging.NullHandler())
    logging.getLogger("flyer.http").propagate = False
    main()
