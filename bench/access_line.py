"""The cost of one access line, against plain stdlib logging and a plain write, same run.

    python bench/access_line.py [--calls 20000] [--rounds 7] [--target file|devnull] [--json]

flyer's logging is configured as `create_app` does (JSON lines on stdout), with stdout
pointing at a temporary file (or /dev/null). Each case runs `--calls` times per round, the
cases interleaved within every round (in turn reversed) so drift on a shared machine hits
them alike; time is this process's CPU time (user and system: the writes count):

- `write`: `stream.write(line)` and `flush()` of a ready access line on flyer's console
  handler's stream: the floor any logging pays (one system call per line).
- `stdlib_info`: `logging.getLogger("bench.plain").info(line)` to a plain `StreamHandler`
  (`%(message)s`) on the same stream: the standard library's cheapest line.
- `log_access`: flyer's `log_access(...)` with a request's fields, outside an event loop.
- `log_access_loop`: the same inside a running event loop, one line per loop iteration (a
  quiet server); the bare cost of an iteration (`await asyncio.sleep(0)`) is subtracted.
- `log_access_loop8`: eight lines per iteration (a busy server: under `wrk -c 32` a flyer
  server ends about 25 requests per iteration), iterations subtracted.
- `middleware_log`, `middleware_log8`: `log_request(scope, status, start)`, the call
  flyer's `RequestId` middleware makes at the end of a request (the fields from the ASGI scope,
  the duration, the request id from its context variable), one and eight per iteration.
- `filtered_loop`, `filtered_loop8`: with a filter (passing everything) on flyer's handler,
  so a LogRecord is built and handled (without one, nothing but flyer's handler could see
  it, and the line is rendered from the fields directly).
- `unbatched_loop`, `unbatched_loop8`: `log_access` with flyer's formatter on a plain
  `StreamHandler` (a record, and a write and flush per line) instead of flyer's handler,
  which writes the lines of one loop iteration at once: what that batching saves or costs.

Printed (or, with `--json`, one JSON object, which `run()` returns too): µs of CPU per call
for each case (median over the rounds) and, for flyer's cases, the medians of the per-round
ratios to the two baselines (`x write`, `x stdlib`; lower is cheaper). `lines_written` counts
the lines in the file against `lines_expected`: nothing held back is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List

# CPU time of this process (user and system, so the write's system call counts): steadier
# than the wall clock when other processes share the machine.
_clock = time.process_time
FIELDS = ("GET", "/flyer/items/7", 200, 0.4321234, "127.0.0.1", "0123456789abcdef0123456789abcdef")


def _loop_case(body: Callable[[], None], calls: int, per_iteration: int = 1) -> Callable[[], float]:
    """`body` `per_iteration` times per event-loop iteration, `calls` times in all; seconds,
    minus the cost of the bare iterations."""
    iterations = calls // per_iteration

    async def with_body() -> float:
        start = _clock()
        for _ in range(iterations):
            for _ in range(per_iteration):
                body()
            await asyncio.sleep(0)
        return _clock() - start

    async def bare() -> float:
        start = _clock()
        for _ in range(iterations):
            for _ in range(per_iteration):
                pass
            await asyncio.sleep(0)
        return _clock() - start

    def timed() -> float:
        loop = asyncio.new_event_loop()
        try:
            spent = loop.run_until_complete(with_body())
            idle = loop.run_until_complete(bare())
            loop.run_until_complete(asyncio.sleep(0))  # anything a handler left for the loop
        finally:
            loop.close()
        return spent - idle

    return timed


def _with_filter(handler: logging.Handler, timed: Callable[[], float]) -> Callable[[], float]:
    """`timed` with a filter passing every record on `handler` (a record is then built)."""

    def filtered() -> float:
        handler.addFilter(_pass)
        try:
            return timed()
        finally:
            handler.removeFilter(_pass)

    return filtered


def _pass(record: logging.LogRecord) -> bool:
    return True


def _with_handlers(
    logger: logging.Logger, handlers: List[logging.Handler], timed: Callable[[], float]
) -> Callable[[], float]:
    """`timed` with `handlers` in place of `logger`'s own."""

    def swapped() -> float:
        saved = logger.handlers
        logger.handlers = handlers
        try:
            return timed()
        finally:
            logger.handlers = saved

    return swapped


def _plain_case(body: Callable[[], None], calls: int) -> Callable[[], float]:
    def timed() -> float:
        start = _clock()
        for _ in range(calls):
            body()
        return _clock() - start

    return timed


def run(calls: int = 20000, rounds: int = 7, target: str = "file") -> Dict[str, Any]:
    """Time every case; µs per call (medians) and the per-round ratios' medians."""
    from flyer_core import load_settings
    from flyer_core._logging import (
        access_logger,
        configure_logging,
        log_access,
        log_request,
        make_formatter,
    )
    from flyer_status import request_id_var

    fd, path = tempfile.mkstemp(suffix=".log")
    os.close(fd)
    out = open(os.devnull if target == "devnull" else path, "w", encoding="utf-8")  # noqa: SIM115
    saved_stdout = sys.stdout
    sys.stdout = out  # flyer's console handler writes to whatever sys.stdout is
    try:
        configure_logging(load_settings(None, {"flyer_log_format": "json"}))
        root = logging.getLogger()
        (console,) = [h for h in root.handlers if isinstance(h, logging.StreamHandler)]
        line = (
            '{"method": "GET", "path": "/flyer/items/7", "status": 200, "duration_ms": 0.432, '
            '"client": "127.0.0.1", "request_id": "0123456789abcdef0123456789abcdef", '
            '"event": "request", "logger": "flyer.access", "level": "info", '
            '"timestamp": "2026-01-01T00:00:00.000000Z"}\n'
        )

        def write() -> None:
            stream = console.stream
            stream.write(line)
            stream.flush()

        plain = logging.getLogger("bench.plain")
        plain.propagate = False
        plain.setLevel(logging.INFO)
        plain_handler = logging.StreamHandler(out)
        plain_handler.setFormatter(logging.Formatter("%(message)s"))
        plain.addHandler(plain_handler)
        plain_line = line[:-1]

        def stdlib_info() -> None:
            plain.info(plain_line)

        def access() -> None:
            log_access(*FIELDS)

        scope = {"method": "GET", "path": "/flyer/items/7", "client": ("127.0.0.1", 50000)}
        request_id_var.set(FIELDS[-1])  # the id `RequestId` puts in the request's context

        def middleware_log() -> None:
            log_request(scope, 200, time.perf_counter())

        # flyer's formatter on a plain StreamHandler: a write and flush per line.
        unbatched = logging.StreamHandler(out)
        unbatched.setFormatter(make_formatter("json"))
        cases = {
            "write": _plain_case(write, calls),
            "stdlib_info": _plain_case(stdlib_info, calls),
            "log_access": _plain_case(access, calls),
            "log_access_loop": _loop_case(access, calls),
            "log_access_loop8": _loop_case(access, calls, 8),
            "middleware_log": _loop_case(middleware_log, calls),
            "middleware_log8": _loop_case(middleware_log, calls, 8),
            "filtered_loop": _with_filter(console, _loop_case(access, calls)),
            "filtered_loop8": _with_filter(console, _loop_case(access, calls, 8)),
            "unbatched_loop": _with_handlers(root, [unbatched], _loop_case(access, calls)),
            "unbatched_loop8": _with_handlers(root, [unbatched], _loop_case(access, calls, 8)),
        }
        warm_up = 1000
        _plain_case(access, warm_up)()
        _loop_case(middleware_log, warm_up)()
        seconds: Dict[str, List[float]] = {name: [] for name in cases}
        names = list(cases)
        for index in range(rounds):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                seconds[name].append(cases[name]())
        for handler in root.handlers + access_logger.handlers:
            handler.flush()
        written = 0
        if target != "devnull":
            with open(path, encoding="utf-8") as lines:
                written = sum(1 for _ in lines)
    finally:
        sys.stdout = saved_stdout
        out.close()
        os.unlink(path)

    us = {name: statistics.median(s) / calls * 1e6 for name, s in seconds.items()}
    ratios: Dict[str, Dict[str, float]] = {}
    for name in names[2:]:
        ratios[name] = {
            base: statistics.median([s / b for s, b in zip(seconds[name], seconds[base])])
            for base in ("write", "stdlib_info")
        }
    return {
        "calls": calls,
        "rounds": rounds,
        "target": target,
        "python": platform.python_version(),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "lines_written": written,
        "lines_expected": calls * rounds * len(seconds) + 2 * warm_up,
        "us_per_call": us,
        "ratio": ratios,
    }


def _table(result: Dict[str, Any]) -> str:
    out = io.StringIO()
    print(
        f"Python {result['python']}, {result['calls']} calls x {result['rounds']} rounds, "
        f"stdout to {result['target']}, load {result['load']:.2f}",
        file=out,
    )
    print(f"{'case':<18}{'us/call':>9}{'x write':>10}{'x stdlib':>10}", file=out)
    for name, value in result["us_per_call"].items():
        ratio = result["ratio"].get(name)
        extra = f"{ratio['write']:>10.2f}{ratio['stdlib_info']:>10.2f}" if ratio else ""
        print(f"{name:<18}{value:>9.2f}{extra}", file=out)
    return out.getvalue().rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--target", choices=("file", "devnull"), default="file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.calls, args.rounds, args.target)
    print(json.dumps(result) if args.json else _table(result))


if __name__ == "__main__":
    main()
