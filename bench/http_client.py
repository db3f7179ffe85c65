"""flyer_http.Client.get against raw httpx.Client.get (and the async pair), side by side.

A minimal ASGI app served by uvicorn runs in a separate process pinned to one core; the
clients run in this process pinned to another. Rounds interleave raw httpx and flyer (the
order alternating each round) so drift on a shared machine hits both alike. For each pair
it prints requests/s and the client's CPU time per request (this process's utime+stime
over the round / requests), and flyer's ratios to raw httpx as the median of the per-round
ratios (target: >= 0.95x). On a shared machine requests/s swings from round to round; CPU
per request is the steadier figure.

    python bench/http_client.py [--requests 100] [--rounds 101] [--log] [--json]

Needs flyer-http and uvicorn installed. `--log` also measures flyer with its per-call INFO
line emitted to a handler that discards it (the default, logging not configured, builds no
log line at all). `--json` prints the figures as one JSON object instead (what `run.py` reads);
`run()` returns the same object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import socket
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

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


def _compare(
    runners: Dict[str, Callable[[int], None]], n: int, rounds: int
) -> Dict[str, Dict[str, float]]:
    """Each client's median requests/s and CPU us per request over interleaved rounds, and
    its ratios to raw httpx (medians of the per-round ratios)."""
    for run in runners.values():  # warm up pools, imports and caches
        run(max(50, n // 10))
    results: Dict[str, List[Tuple[float, float]]] = {key: [] for key in runners}
    keys = list(runners)
    for i in range(rounds):
        for key in keys if i % 2 == 0 else reversed(keys):
            results[key].append(_measure(runners[key], n))
    base = results["httpx"]
    return {
        key: {
            "rps": statistics.median(r for r, _ in results[key]),
            "cpu_us_per_request": statistics.median(c for _, c in results[key]),
            "throughput_ratio": statistics.median(
                r / b for (r, _), (b, _) in zip(results[key], base)
            ),
            "cpu_ratio": statistics.median(b / c for (_, c), (_, b) in zip(results[key], base)),
        }
        for key in keys
    }


def _overhead(n: int = 20000) -> Dict[str, float]:
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
    return {key: statistics.median(values) for key, values in costs.items()}


def run(requests: int = 100, rounds: int = 101, log: bool = False) -> Dict[str, Any]:
    """Every figure of this benchmark, as data: `overhead_us_per_call` (mock transport), then
    `sync` and `async`, each client -> rps, cpu_us_per_request, throughput_ratio, cpu_ratio."""
    results: Dict[str, Any] = {
        "requests": requests,
        "rounds": rounds,
        "versions": {"httpx": httpx.__version__, "flyer-http": flyer_http.__version__},
        "overhead_us_per_call": _overhead(),
    }
    port = _free_port()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_core, client_core = cores[-1], cores[0]
    results["cores"] = {"server": server_core, "client": client_core}
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(port, server_core), daemon=True
    )
    server.start()
    try:
        _wait_for(port)
        if hasattr(os, "sched_setaffinity") and len(cores) > 1:
            os.sched_setaffinity(0, {client_core})
        url = f"http://127.0.0.1:{port}/item"
        logger = logging.getLogger("flyer.http")
        with httpx.Client() as raw, flyer_http.Client() as flyer:
            runners = {"httpx": _sync_runner(raw, url), "flyer": _sync_runner(flyer, url)}
            logged: Optional[flyer_http.Client] = None
            if log:
                logged = flyer_http.Client()
                run_logged = _sync_runner(logged, url)

                def with_log(n: int) -> None:
                    logger.setLevel(logging.INFO)
                    try:
                        run_logged(n)
                    finally:
                        logger.setLevel(logging.NOTSET)

                runners["flyer, INFO line/call"] = with_log
            results["sync"] = _compare(runners, requests, rounds)
            if logged is not None:
                logged.close()

        loop = asyncio.new_event_loop()
        raw_async = httpx.AsyncClient()
        flyer_async = flyer_http.AsyncClient()
        try:
            runners = {
                "httpx": _async_runner(raw_async, url, loop),
                "flyer": _async_runner(flyer_async, url, loop),
            }
            results["async"] = _compare(runners, requests, rounds)
        finally:
            loop.run_until_complete(raw_async.aclose())
            loop.run_until_complete(flyer_async.aclose())
            loop.close()
    finally:
        server.terminate()
        server.join(10)
    return results


def report(results: Dict[str, Any]) -> str:
    """The figures of `run()` as the text table."""
    overhead = results["overhead_us_per_call"]
    cores = results["cores"]
    versions = results["versions"]
    lines = [
        f"no network (mock transport): httpx {overhead['httpx']:.1f} us/call, "
        f"flyer {overhead['flyer']:.1f} us/call, "
        f"flyer adds {overhead['flyer'] - overhead['httpx']:.1f} us",
        f"server on core {cores['server']}, client on core {cores['client']}; "
        f"httpx {versions['httpx']}, flyer-http {versions['flyer-http']}",
    ]
    for kind, name in (("sync", "sync  Client.get"), ("async", "async AsyncClient.get")):
        lines.append(
            f"\n{name}: {results['rounds']} interleaved rounds of "
            f"{results['requests']} sequential GETs"
        )
        lines.append(
            f"  {'client':<22} {'req/s':>8} {'CPU us/req':>11}   {'ratio (median of rounds)':>26}"
        )
        for key, row in results[kind].items():
            lines.append(
                f"  {key:<22} {row['rps']:8.0f} {row['cpu_us_per_request']:11.1f}   "
                f"throughput {row['throughput_ratio']:5.3f}x  CPU {row['cpu_ratio']:5.3f}x"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per round")
    parser.add_argument("--rounds", type=int, default=101)
    parser.add_argument("--log", action="store_true", help="also measure with INFO lines on")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = run(args.requests, args.rounds, args.log)
    print(json.dumps(results) if args.json else report(results))


if __name__ == "__main__":
    logging.getLogger("flyer.http").addHandler(logging.NullHandler())
    logging.getLogger("flyer.http").propagate = False
    main()
