"""Every flyer benchmark in one run: one table, one JSON file to compare later runs against.

    python bench/run.py [--rounds 3] [--duration 5] [--quick] [--compare OLD.json]

What runs (bench/README.md explains how to read it):

1. Throughput: bare Starlette, bare FastAPI and flyer side by side, each server pinned to
   core 0 and wrk to core 1, A/B interleaved over several rounds (the order reversing each
   round): the health check and a `DataResponse` business route (flyer's access log off and
   on), flyer under uvicorn, under gunicorn with a uvicorn worker and under granian. Medians
   of requests/s, p50/p99 latency and server CPU time per request; the ratios flyer/FastAPI
   and flyer/Starlette are medians of the per-round ratios.
2. Start-up: cold start to the first 200 and idle memory (`bench/startup.py`).
3. flyer-http against raw httpx (`bench/http_client.py`) and flyer-sched's lock latency on
   local Redis (`bench/sched_lock.py`), each in a fresh process, its figures read as JSON.

Results go to bench/out/results.json (and the table to stdout); `--compare` prints the change
against an earlier results file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import servers  # bench/ is the script's directory, on sys.path
import startup as startup_module

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"

HEALTH, ITEM = servers.HEALTH, servers.ITEM

# (key, label, how to start it) for every server of the throughput section.
Starter = Callable[[Path], Any]
SERVERS: List[Tuple[str, str, Starter]] = [
    (
        "starlette",
        "bare Starlette",
        lambda w: servers.uvicorn_server("bare Starlette", "bare_starlette_full", w),
    ),
    (
        "fastapi",
        "bare FastAPI",
        lambda w: servers.uvicorn_server("bare FastAPI", "bare_fastapi_full", w),
    ),
    (
        "flyer",
        "flyer, uvicorn",
        lambda w: servers.uvicorn_server("flyer", "flyer_app", w, flyer_access_log="0"),
    ),
    (
        "flyer_log",
        "flyer, uvicorn, access log on",
        lambda w: servers.uvicorn_server("flyer access log", "flyer_app", w, flyer_access_log="1"),
    ),
    (
        "flyer_gunicorn",
        "flyer, gunicorn + uvicorn worker",
        lambda w: servers.prod_server(
            "flyer gunicorn", "gunicorn", "flyer_app", w, flyer_access_log="0"
        ),
    ),
    (
        "litestar_pydantic",
        "Litestar, pydantic model",
        lambda w: servers.litestar_server("Litestar pydantic", "litestar_pydantic", w),
    ),
    (
        "litestar_msgspec",
        "Litestar, msgspec Struct",
        lambda w: servers.litestar_server("Litestar msgspec", "litestar_msgspec", w),
    ),
    (
        "flyer_granian",
        "flyer, granian",
        lambda w: servers.prod_server(
            "flyer granian", "granian", "flyer_app", w, flyer_access_log="0"
        ),
    ),
]
LABELS = {key: label for key, label, _ in SERVERS}

CASES: List[Tuple[str, str, List[str]]] = [
    ("health check", HEALTH, ["starlette", "fastapi", "flyer", "flyer_gunicorn", "flyer_granian"]),
    (
        "DataResponse route",
        ITEM,
        [
            "starlette",
            "fastapi",
            "litestar_pydantic",
            "litestar_msgspec",
            "flyer",
            "flyer_log",
            "flyer_gunicorn",
            "flyer_granian",
        ],
    ),
]

# (label, case, flyer server, bare server, target) - the budgets of DESIGN.md and the issues.
TARGETS: List[Tuple[str, str, str, str, float]] = [
    ("health check vs bare Starlette", "health check", "flyer", "starlette", 0.90),
    ("health check vs bare FastAPI", "health check", "flyer", "fastapi", 0.95),
    ("DataResponse route vs bare FastAPI, access log off", "DataResponse route", "flyer", "fastapi", 1.45),
    ("DataResponse route vs bare FastAPI, access log on", "DataResponse route", "flyer_log", "fastapi", 1.40),
    ("DataResponse route, access log on vs off", "DataResponse route", "flyer_log", "flyer", 0.97),
    ("DataResponse route vs Litestar, pydantic model", "DataResponse route", "flyer", "litestar_pydantic", 1.0),
    ("DataResponse route vs Litestar, msgspec Struct", "DataResponse route", "flyer", "litestar_msgspec", 1.0),
]  # fmt: skip


def _median(values: List[float]) -> float:
    return float(statistics.median(values))


def throughput(
    rounds: int, duration: float, connections: int, pair_rounds: int, pair_duration: float
) -> Dict[str, Any]:
    """Every case on every server, interleaved; per-round samples, medians and ratios; then
    every target's two servers loaded at once (`_wrk.measure_pair`) for its ratio."""
    missing = {
        "flyer_granian": None if servers.granian_available() else "granian is not installed",
        "litestar_pydantic": None if servers.litestar_available() else "litestar is not installed",
        "litestar_msgspec": None if servers.litestar_available() else "litestar is not installed",
    }
    wanted = [s for s in SERVERS if missing.get(s[0]) is None]
    skipped = [f"{key}: {why}" for key, why in missing.items() if why is not None]
    samples: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="flyer-bench-") as tmp:
        workdir = Path(tmp)
        servers.write_apps(workdir)
        running: Dict[str, Any] = {}
        try:
            for key, _, starter in wanted:
                try:
                    running[key] = starter(workdir)
                except RuntimeError as exc:
                    skipped.append(f"{key}: {exc}")
            print(f"# servers up: {', '.join(LABELS[k] for k in running)}", flush=True)
            plan = [
                (case, path, key) for case, path, keys in CASES for key in keys if key in running
            ]
            for number in range(rounds):
                order = plan if number % 2 == 0 else list(reversed(plan))
                print(f"# round {number + 1}/{rounds}", flush=True)
                for case, path, key in order:
                    result = servers.measure(
                        running[key], path, duration=duration, connections=connections
                    )
                    samples.setdefault(case, {}).setdefault(key, []).append(result)
                    print(
                        f"  {case:<20} {LABELS[key]:<34} {result['rps']:>8.0f} req/s  "
                        f"p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms  "
                        f"cpu {result['cpu_us_per_request']:6.1f} us/req",
                        flush=True,
                    )
        finally:
            for server in running.values():
                server.stop()
        starters = {key: starter for key, _, starter in wanted if key in running}
        paired = _paired(starters, workdir, pair_rounds, pair_duration, max(1, connections // 2))

    medians: Dict[str, Dict[str, Dict[str, float]]] = {}
    ratios: Dict[str, Dict[str, Dict[str, Dict[str, float]]]] = {}
    for case, by_server in samples.items():
        medians[case] = {
            key: {field: _median([r[field] for r in runs]) for field in runs[0]}
            for key, runs in by_server.items()
        }
        ratios[case] = {}
        for key, runs in by_server.items():
            ratios[case][key] = {}
            for bare in ("fastapi", "starlette"):
                if bare not in by_server or key == bare:
                    continue
                pairs = list(zip(runs, by_server[bare]))
                ratios[case][key][bare] = {
                    "rps": _median([ours["rps"] / theirs["rps"] for ours, theirs in pairs]),
                    "cpu": _median(
                        [
                            theirs["cpu_us_per_request"] / ours["cpu_us_per_request"]
                            for ours, theirs in pairs
                        ]
                    ),
                }
    return {
        "rounds": rounds,
        "duration_s": duration,
        "connections": connections,
        "servers": {k: LABELS[k] for k in running},
        "skipped": skipped,
        "samples": samples,
        "median": medians,
        "ratios": ratios,
        "pair_rounds": pair_rounds,
        "pair_duration_s": pair_duration,
        "paired": paired,
    }


def _paired(
    starters: Dict[str, Starter], workdir: Path, rounds: int, duration: float, connections: int
) -> Dict[str, Dict[str, Any]]:
    """For each target: flyer's server and the bare one under load at the same time, on the
    same core, `rounds` times; the medians of the per-round ratios. Every round starts both
    servers afresh: one process can run a few percent faster or slower than an identical one
    for its whole life (memory layout, hash seed), so the median is over processes too."""
    found: Dict[str, Dict[str, Any]] = {}
    paths = {case: path for case, path, _ in CASES}
    if rounds <= 0:
        return found
    print(f"# paired: {rounds} rounds of {duration:g} s per target", flush=True)
    for label, case, ours, bare, _ in TARGETS:
        if ours not in starters or bare not in starters:
            continue
        samples = []
        for _ in range(rounds):
            pair = [starters[bare](workdir), starters[ours](workdir)]
            try:
                theirs_result, ours_result = servers.wrk.measure_pair(
                    *pair,
                    paths[case],
                    duration=duration,
                    connections=connections,
                    cpu=servers.tree_cpu_seconds,
                )
            finally:
                for server in pair:
                    server.stop()
            sample = {
                "rps": ours_result.rps / theirs_result.rps,
                "cpu": theirs_result.cpu_us_per_request / ours_result.cpu_us_per_request,
                "flyer_cpu_us": ours_result.cpu_us_per_request,
                "bare_cpu_us": theirs_result.cpu_us_per_request,
            }
            samples.append(sample)
            print(
                f"  {label:<52} req/s {sample['rps']:5.3f}  CPU {sample['cpu']:5.3f}  "
                f"(flyer {sample['flyer_cpu_us']:6.1f} us, bare {sample['bare_cpu_us']:6.1f} us)",
                flush=True,
            )
        found[label] = {
            "samples": samples,
            "rps": _median([x["rps"] for x in samples]),
            "cpu": _median([x["cpu"] for x in samples]),
        }
    return found


def _script(name: str, args: List[str], timeout: float) -> Dict[str, Any]:
    """Run `bench/<name>.py --json` in a fresh process; its figures, or why there are none."""
    path = HERE / f"{name}.py"
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(path), "--json", *args],
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {timeout:.0f} s"}
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        return {"status": f"exit {done.returncode}", "stderr": done.stderr[-3000:]}
    lines = done.stdout.strip().splitlines()
    return {"status": "ok", "seconds": seconds, "data": json.loads(lines[-1])}


def http_bench(rounds: Optional[int], requests: Optional[int]) -> Dict[str, Any]:
    """`bench/http_client.py`: flyer_http.Client.get vs raw httpx, sync and async (its own
    defaults unless `rounds`/`requests` are given)."""
    args = [] if rounds is None else ["--rounds", str(rounds)]
    args += [] if requests is None else ["--requests", str(requests)]
    result = _script("http_client", args, 600)
    data = result.pop("data", None)
    if data is not None:
        result["parsed"] = {kind: data[kind] for kind in ("sync", "async")}
        result["overhead_us_per_call"] = data["overhead_us_per_call"]
    return result


def sched_bench() -> Dict[str, Any]:
    """`bench/sched_lock.py`: lock acquire+release latency on local Redis."""
    url = os.environ.get("FLYER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    result = _script("sched_lock", ["--url", url], 300)
    data = result.pop("data", None)
    if data is not None:
        result["parsed_ms"] = {
            name: {"p50": row["p50_ms"], "p99": row["p99_ms"], "vs_ping": row["p50_vs_ping"]}
            for name, row in data["rows"].items()
        }
    return result


def _machine() -> Dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _fmt_ratio(ratio: Optional[Dict[str, float]]) -> str:
    if not ratio:
        return f"{'':>13}"
    return f"{ratio['rps']:6.2f} / {ratio['cpu']:4.2f}"


def report(results: Dict[str, Any]) -> str:
    lines: List[str] = []
    meta = results["meta"]
    lines.append(
        f"flyer benchmarks, {meta['date']}: {meta['machine']['cores']} cores "
        f"({meta['machine']['cpu'] or 'unknown CPU'}), Python {meta['machine']['python']}, "
        f"load average at start {meta['machine']['load_average'][0]:.2f}"
    )
    tp = results.get("throughput")
    if tp:
        lines.append(
            f"\nThroughput: server on 1 core, wrk ({tp['connections']} connections) on the other; "
            f"median of {tp['rounds']} interleaved rounds of {tp['duration_s']:g} s"
        )
        lines.append(
            f"{'case':<20} {'server':<34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'CPU us/req':>10}  {'vs FastAPI':>13}  {'vs Starlette':>13}"
        )
        lines.append(
            f"{'':<20} {'':<34} {'':>8} {'':>7} {'':>7} {'':>10}  {'(req/s / CPU)':>13}  {'(req/s / CPU)':>13}"
        )
        for case, _, keys in CASES:
            for key in keys:
                row = tp["median"].get(case, {}).get(key)
                if row is None:
                    continue
                ratio = tp["ratios"][case].get(key, {})
                lines.append(
                    f"{case:<20} {tp['servers'][key]:<34} {row['rps']:>8.0f} {row['p50_ms']:>7.2f} "
                    f"{row['p99_ms']:>7.2f} {row['cpu_us_per_request']:>10.1f}  "
                    f"{_fmt_ratio(ratio.get('fastapi'))}  {_fmt_ratio(ratio.get('starlette'))}"
                )
        for note in tp["skipped"]:
            lines.append(f"  (skipped {note})")
        if tp.get("paired"):
            lines.append(
                f"\nPaired: flyer and the bare server loaded at once on the same core, "
                f"{tp['pair_rounds']} rounds of {tp['pair_duration_s']:g} s; medians of the "
                f"per-round ratios"
            )
            for label, ratio in tp["paired"].items():
                lines.append(f"  {label:<52} req/s {ratio['rps']:5.3f}  CPU {ratio['cpu']:5.3f}")
    su = results.get("startup")
    if su:
        lines.append(f"\nStart-up: median of {su['rounds']} cold starts each (uvicorn, 1 core)")
        lines.append(startup_module.table(su))
    http = results.get("http")
    if http:
        lines.append(f"\nflyer-http (bench/http_client.py): {http['status']}")
        for kind, rows in http.get("parsed", {}).items():
            flyer = rows.get("flyer")
            base = rows.get("httpx")
            if flyer and base:
                lines.append(
                    f"  {kind:<5} Client.get  httpx {base['rps']:>6.0f} req/s  flyer {flyer['rps']:>6.0f} req/s  "
                    f"ratio {flyer['throughput_ratio']:.3f} (CPU {flyer['cpu_ratio']:.3f})"
                )
        overhead = http.get("overhead_us_per_call")
        if overhead:
            lines.append(
                f"  no network (mock transport): httpx {overhead['httpx']:.1f} us/call, "
                f"flyer {overhead['flyer']:.1f} us/call"
            )
    sched = results.get("sched")
    if sched:
        lines.append(f"\nflyer-sched lock on local Redis (bench/sched_lock.py): {sched['status']}")
        for name, row in sched.get("parsed_ms", {}).items():
            lines.append(
                f"  {name:<36} p50 {row['p50']:6.3f} ms  p99 {row['p99']:6.3f} ms  "
                f"({row['vs_ping']:.1f}x PING p50)"
            )
    targets = results.get("targets")
    if targets:
        lines.append("\nTargets (ratio = flyer/bare requests/s; CPU = bare/flyer CPU per request)")
        for target in targets:
            verdict = "met" if target["met"] else "NOT met"
            lines.append(
                f"  {target['label']:<52} {'<=' if target.get('at_most') else '>='} "
                f"{target['target']:.2f}:  {target['value']}  {verdict}"
            )
    return "\n".join(lines)


def targets(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    tp = results.get("throughput")
    if tp:
        # Judged on the paired runs (both servers loaded at once: drift cancels); the ratios
        # of the one-after-the-other runs are shown beside them.
        for label, case, ours, bare, target in TARGETS:
            ratio = tp.get("paired", {}).get(label)
            alone = tp["ratios"].get(case, {}).get(ours, {}).get(bare)
            if ratio is None:
                ratio, how = alone, "one after the other"
                alone = None
            else:
                how = "paired"
            if ratio is None:
                continue
            value = f"{how}: req/s {ratio['rps']:.3f}, CPU {ratio['cpu']:.3f}"
            if alone is not None:
                value += f" (one after the other: {alone['rps']:.3f} / {alone['cpu']:.3f})"
            found.append(
                {
                    "label": label,
                    "target": target,
                    "value": value,
                    "met": ratio["rps"] >= target and ratio["cpu"] >= target,
                }
            )
    http = results.get("http") or {}
    for kind, rows in http.get("parsed", {}).items():
        flyer = rows.get("flyer")
        if flyer:
            found.append(
                {
                    "label": f"flyer-http {kind} Client.get vs raw httpx",
                    "target": 0.95,
                    "value": f"req/s {flyer['throughput_ratio']:.3f}, CPU {flyer['cpu_ratio']:.3f}",
                    "met": flyer["throughput_ratio"] >= 0.95 and flyer["cpu_ratio"] >= 0.95,
                }
            )
    rows = (results.get("sched") or {}).get("parsed_ms", {})
    lock = next((row for name, row in rows.items() if name.startswith("acquire + release")), None)
    if lock is not None:
        p99 = lock["p99"]
        found.append(
            {
                "label": "flyer-sched lock acquire+release p99 (ms)",
                "target": 1.0,
                "at_most": True,
                "value": f"p99 {p99:.3f} ms",
                "met": p99 <= 1.0,
            }
        )
    return found


def compare(results: Dict[str, Any], old_path: Path) -> str:
    old = json.loads(old_path.read_text())
    lines = [f"\nChange against {old_path} ({old.get('meta', {}).get('date', '?')}):"]
    new_tp, old_tp = results.get("throughput") or {}, old.get("throughput") or {}
    for case, by_server in new_tp.get("median", {}).items():
        for key, row in by_server.items():
            before = old_tp.get("median", {}).get(case, {}).get(key)
            if not before:
                continue
            lines.append(
                f"  {case:<20} {LABELS.get(key, key):<34} req/s {row['rps'] / before['rps'] - 1:+7.1%}  "
                f"CPU/req {row['cpu_us_per_request'] / before['cpu_us_per_request'] - 1:+7.1%}"
            )
    new_su, old_su = results.get("startup") or {}, old.get("startup") or {}
    for label, row in new_su.get("median", {}).items():
        before = old_su.get("median", {}).get(label)
        if before:
            lines.append(
                f"  start-up {label:<31} cold start {row['cold_start_s'] / before['cold_start_s'] - 1:+7.1%}  "
                f"RSS {row['rss_mib'] / before['rss_mib'] - 1:+7.1%}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds")
    parser.add_argument("--duration", type=float, default=5, help="seconds of wrk per case")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--pair-rounds", type=int, default=7, help="paired rounds per target (0: none)"
    )
    parser.add_argument("--pair-duration", type=float, default=4, help="seconds per paired round")
    parser.add_argument("--startup-rounds", type=int, default=9)
    parser.add_argument("--http-rounds", type=int, help="http_client.py --rounds (its default)")
    parser.add_argument("--http-requests", type=int, help="http_client.py --requests (its default)")
    parser.add_argument(
        "--only",
        default="throughput,startup,http,sched",
        help="comma-separated sections to run (throughput, startup, http, sched)",
    )
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s: a smoke run")
    parser.add_argument("--out", type=Path, default=OUT / "results.json")
    parser.add_argument("--compare", type=Path, help="an earlier results.json")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.startup_rounds = 1, 2.0, 1
        args.pair_rounds, args.pair_duration = 1, 2.0
        args.http_rounds, args.http_requests = 3, 100
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"throughput", "startup", "http", "sched"}
    if unknown:
        parser.error(f"--only {args.only!r}: unknown section(s) {sorted(unknown)}")

    started = time.monotonic()
    results: Dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/run.py " + " ".join(sys.argv[1:]),
            "machine": _machine(),
            "versions": servers.versions(),
        }
    }
    if "throughput" in sections:
        print("== throughput", flush=True)
        results["throughput"] = throughput(
            args.rounds, args.duration, args.connections, args.pair_rounds, args.pair_duration
        )
    if "startup" in sections:
        print("== start-up", flush=True)
        results["startup"] = startup_module.run(args.startup_rounds)
    if "http" in sections:
        print("== flyer-http", flush=True)
        results["http"] = http_bench(args.http_rounds, args.http_requests)
    if "sched" in sections:
        print("== flyer-sched", flush=True)
        results["sched"] = sched_bench()
    results["targets"] = targets(results)
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print()
    print(report(results))
    if args.compare:
        print(compare(results, args.compare))
    print(f"\n{results['meta']['seconds']:.0f} s; results written to {args.out}")


if __name__ == "__main__":
    main()
