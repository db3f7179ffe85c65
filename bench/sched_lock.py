"""flyer-sched lock latency on local Redis: acquire + release, p50 / p99.

    python bench/sched_lock.py [--url redis://127.0.0.1:6379/0] [--n 5000] [--json]

Measures, on one connection, with a random key prefix (its keys are deleted at the end):
- `PING` round trip, the floor any Redis operation pays;
- `claim` + `release` of a tick lock (two Lua scripts: the lock's acquire and release);
- a call of a `@lock()`-decorated no-op function: the two scripts plus the tick, registering
  the lock with the process's renewal thread, and the run's log event.
Target: acquire + release p99 <= 1 ms on local Redis. On a busy shared machine the p99 of
every row, PING included, is set by the OS scheduler; compare rows with the PING floor.
`--json` prints the figures as one JSON object (what `run.py` reads); `run()` returns it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from typing import Any, Callable, Dict, List, Tuple

import redis

from flyer_sched import BackgroundScheduler, RedisLockStore, SchedSettings


def percentile(samples: List[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(n: int, operation: Callable[[int], None]) -> Tuple[List[float], float]:
    """Wall-clock milliseconds per call, and this process's CPU microseconds per call."""
    for i in range(min(200, n)):  # warm-up: connections, script cache
        operation(-1 - i)
    samples = []
    cpu = time.process_time()
    for i in range(n):
        started = time.perf_counter()
        operation(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples, (time.process_time() - cpu) / n * 1e6


def _row(measured: Tuple[List[float], float], floor: float) -> Dict[str, float]:
    samples, cpu_us = measured
    p50 = percentile(samples, 0.50)
    return {
        "p50_ms": p50,
        "p99_ms": percentile(samples, 0.99),
        "mean_ms": statistics.fmean(samples),
        "client_cpu_us": cpu_us,
        "p50_vs_ping": p50 / floor,
    }


def run(url: str = "redis://127.0.0.1:6379/0", n: int = 5000) -> Dict[str, Any]:
    """Every row as data: name -> p50_ms, p99_ms, mean_ms, client_cpu_us, p50_vs_ping."""
    prefix = f"flyer-bench:{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(url)
    store = RedisLockStore(client, prefix=prefix)
    base = 1_800_000_000_000_000
    try:
        ping = measure(n, lambda i: client.ping())

        ticks = iter(range(base, base + 10 * n + 1000))

        def claim_release(i: int) -> None:
            token = uuid.uuid4().hex
            claim = store.claim("job:bench", next(ticks), token, "bench:1", 30)
            assert claim.acquired, claim
            assert store.release("job:bench", token)

        locks = measure(n, claim_release)

        scheduler = BackgroundScheduler(settings=SchedSettings(lock_ttl=30))
        scheduler.lock_store = store
        locked = scheduler.lock("bench-call")(lambda: None)
        calls = measure(n, lambda i: locked())
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    floor = percentile(ping[0], 0.5)
    return {
        "n": n,
        "rows": {
            "PING (floor)": _row(ping, floor),
            "acquire + release (claim, release)": _row(locks, floor),
            "@lock() no-op call": _row(calls, floor),
        },
    }


def report(results: Dict[str, Any]) -> str:
    """The figures of `run()` as the text table."""
    lines = [f"flyer-sched lock latency, local Redis, n={results['n']} per row"]
    for name, row in results["rows"].items():
        lines.append(
            f"{name:34s} p50 {row['p50_ms']:7.3f} ms  p99 {row['p99_ms']:7.3f} ms  "
            f"mean {row['mean_ms']:7.3f} ms  client CPU {row['client_cpu_us']:6.1f} us  "
            f"({row['p50_vs_ping']:4.1f}x PING p50)"
        )
    p99 = results["rows"]["acquire + release (claim, release)"]["p99_ms"]
    verdict = "meets" if p99 <= 1.0 else "misses"
    lines.append(f"acquire + release p99 {p99:.3f} ms {verdict} the 1 ms target")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = run(args.url, args.n)
    print(json.dumps(results) if args.json else report(results))


if __name__ == "__main__":
    main()
