"""Cold start to the first 200 and a worker's idle memory: flyer beside bare FastAPI.

    python bench/startup.py [--rounds 5]

Each app is started by the same uvicorn command, pinned to one core; the clock runs from
spawning the process to the first `200` on `/health_check/async` (interpreter start, imports,
app construction, lifespan start-up and binding all included). A second later, with the app
idle, its memory is read from /proc: RSS, and PSS/USS (what the process alone costs, shared
library pages split or left out). The CPU time the process used up to that first 200 is read
too: unlike the clock, it hardly moves when other work shares the machine. Rounds interleave the apps, the order alternating, and the
medians are printed. The apps:

- bare Starlette and bare FastAPI (a health route and a `DataResponse` route);
- flyer without plugins (`create_app(None, plugins=[])` + the same route);
- flyer with every installed plugin (cache, db, http, sched, mq, mcp, telemetry), as a
  generated project runs.

Issue 20's targets, checked in the same run: flyer with every plugin starts within 1.2x bare
FastAPI's time and idles at 65 MiB RSS or less (`result["targets"]`, the table's last lines).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import servers  # bench/ is the script's directory, on sys.path

HERE = Path(__file__).resolve().parent

#: Start-up of flyer with every plugin / bare FastAPI's, and its idle RSS: the targets.
START_RATIO_TARGET = 1.2
RSS_TARGET_MIB = 65.0
#: Cold starts per app. One start here differs from the next by up to ±10% (other work on the
#: machine), so the median of 5 moved by several percent between runs of the same code.
ROUNDS = 9

APPS: List[Tuple[str, str]] = [
    ("bare Starlette", "bare_starlette_full"),
    ("bare FastAPI", "bare_fastapi_full"),
    ("flyer (no plugins)", "flyer_app"),
    ("flyer (all plugins)", "flyer_plugins_app"),
]


def _status(port: int, path: str) -> int:
    """The status of one GET, or 0 when nothing answers yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
            )
            head = sock.recv(64)
    except OSError:
        return 0
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _memory(pid: int) -> Dict[str, float]:
    """RSS, PSS and USS (private pages) of one process, in MiB."""
    fields: Dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name.strip()] = int(parts[0])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {
        "rss_mib": fields.get("Rss", 0) / 1024,
        "pss_mib": fields.get("Pss", 0) / 1024,
        "uss_mib": uss / 1024,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(module: str, workdir: Path, *, settle: float = 1.0) -> Dict[str, float]:
    """Spawn `uvicorn module:app`, time it to the first 200, then read its idle memory."""
    port = servers.wrk.free_port()
    cmd = [
        "taskset", "-c", str(servers.wrk.SERVER_CORE),
        sys.executable, "-m", "uvicorn", f"{module}:app", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
        "--no-proxy-headers", "--no-server-header",
    ]  # fmt: skip
    env = servers.environment(workdir, flyer_access_log="0")
    with (workdir / f"{module}.startup.log").open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=str(workdir), env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while _status(port, servers.HEALTH) != 200:
                if process.poll() is not None:
                    raise RuntimeError(f"{module} exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{module} did not answer within 60 s")
                time.sleep(0.002)
            cold = time.perf_counter() - started
            cpu = _cpu_seconds(process.pid)
            time.sleep(settle)
            memory = _memory(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    return {"cold_start_s": cold, "cpu_s": cpu, **memory}


def python_start(rounds: int) -> float:
    """Median seconds of `python -c pass` (the floor of any cold start)."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(rounds: int = ROUNDS) -> Dict[str, Any]:
    """Measure every app `rounds` times, interleaved; return the samples and their medians."""
    samples: Dict[str, List[Dict[str, float]]] = {label: [] for label, _ in APPS}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        servers.write_apps(workdir)
        for number in range(rounds):
            order = APPS if number % 2 == 0 else list(reversed(APPS))
            for label, module in order:
                samples[label].append(start_once(module, workdir))
    medians = {
        label: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for label, runs in samples.items()
    }
    return {
        "rounds": rounds,
        "python_c_pass_s": python_start(rounds),
        "median": medians,
        "targets": targets(medians),
        "samples": samples,
    }


def targets(medians: Dict[str, Dict[str, float]]) -> Dict[str, Any]:
    """flyer with every plugin against the targets: its start-up / bare FastAPI's, its RSS."""
    flyer, fastapi = medians["flyer (all plugins)"], medians["bare FastAPI"]
    ratio = flyer["cold_start_s"] / fastapi["cold_start_s"]
    return {
        "start_ratio": ratio,
        "start_cpu_ratio": flyer["cpu_s"] / fastapi["cpu_s"] if "cpu_s" in flyer else None,
        "start_ratio_target": START_RATIO_TARGET,
        "start_ratio_met": ratio <= START_RATIO_TARGET,
        "rss_mib": flyer["rss_mib"],
        "rss_mib_target": RSS_TARGET_MIB,
        "rss_met": flyer["rss_mib"] <= RSS_TARGET_MIB,
    }


def table(result: Dict[str, Any]) -> str:
    medians = result["median"]
    fastapi = medians["bare FastAPI"]
    lines = [
        f"{'app':<22} {'cold start':>10} {'CPU':>8} {'RSS':>9} {'PSS':>9} {'USS':>9}   "
        "vs bare FastAPI",
    ]
    for label, values in medians.items():
        cpu = values.get("cpu_s")
        lines.append(
            f"{label:<22} {values['cold_start_s']:>8.2f} s "
            f"{'' if cpu is None else f'{cpu:>6.2f} s'} {values['rss_mib']:>5.1f} MiB "
            f"{values['pss_mib']:>5.1f} MiB {values['uss_mib']:>5.1f} MiB   "
            f"start {values['cold_start_s'] / fastapi['cold_start_s']:4.2f}x  "
            + ("" if cpu is None else f"CPU {cpu / fastapi['cpu_s']:4.2f}x  ")
            + f"RSS {values['rss_mib'] / fastapi['rss_mib']:4.2f}x"
        )
    lines.append(f"{'python -c pass':<22} {result['python_c_pass_s']:>8.2f} s")
    goals = result.get("targets") or targets(medians)
    lines.append(
        f"flyer (all plugins): start {goals['start_ratio']:.2f}x bare FastAPI "
        f"(target <= {goals['start_ratio_target']}x: {'met' if goals['start_ratio_met'] else 'not met'}"
        + (
            ""
            if goals.get("start_cpu_ratio") is None
            else f"; CPU to the first 200 {goals['start_cpu_ratio']:.2f}x"
        )
        + "), "
        f"idle RSS {goals['rss_mib']:.1f} MiB "
        f"(target <= {goals['rss_mib_target']:g} MiB: {'met' if goals['rss_met'] else 'not met'})"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    result = run(args.rounds)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
