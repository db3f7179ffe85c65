"""Shared benchmark plumbing: a server pinned to one core, wrk pinned to another.

`Server(cmd, port)` starts a command under `taskset -c <core>` and waits for it to answer;
`Server.measure(path)` runs wrk against it and returns requests/s, latency percentiles and
the server's CPU time per request (its utime+stime over the run / requests served).

`measure_pair(a, b, path)` loads two servers *at once*, each with its own wrk: both are
pinned to the same core, so whatever slows that core (a neighbour on the host, frequency,
another process) slows both alike, and the kernel shares the core evenly between two busy
processes. The ratio of their CPU time per request, and of their requests/s, is then the ratio
of their costs within about 2% (two identical servers measure 0.99-1.02), where runs one after
the other swing by 20% from one second to the next on a shared machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVER_CORE = 0
WRK_CORE = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields[11:15] = utime, stime, cutime, cstime (after the state field at index 0)
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Result:
    name: str
    path: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float

    @classmethod
    def of(cls, name: str, path: str, stats: Dict[str, float], seconds: float) -> Result:
        """A run's result from wrk's figures and the server's CPU seconds over the run."""
        return cls(
            name,
            path,
            int(stats["requests"]),
            stats["rps"],
            stats["p50_ms"],
            stats["p99_ms"],
            seconds / stats["requests"] * 1e6,
        )

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.path:<24} {self.rps:>9.0f} req/s  "
            f"p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"cpu {self.cpu_us_per_request:7.1f} us/req"
        )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> Dict[str, float]:
    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (requests and rps and p50 and p99):
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses:\n{output}")
    return {
        "requests": float(requests.group(1)),
        "rps": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
    }


class Server:
    """A server process pinned to SERVER_CORE, measured with wrk pinned to WRK_CORE."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        port: int,
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        log: Optional[Path] = None,
        ready_path: str = "/",
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log or os.devnull, "ab")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.process = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CORE), *cmd],
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=self.log,
            stderr=self.log,
        )
        self._wait(ready_path)
        self.cold_start_s = time.perf_counter() - started
        self.idle_rss_mib = rss_mib(self.process.pid)

    def _wait(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=1) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as error:  # answered: up, whatever the status
                if error.code < 500:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def measure(
        self,
        path: str,
        *,
        duration: float = 5,
        connections: int = 64,
        threads: int = 2,
        warmup: float = 1,
    ) -> Result:
        url = self.url + path
        if warmup:
            run_wrk(url, warmup, connections, threads)
        before = cpu_seconds(self.process.pid)
        stats = run_wrk(url, duration, connections, threads)
        used = cpu_seconds(self.process.pid) - before
        return Result.of(self.name, path, stats, used)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def _wrk_command(url: str, duration: float, connections: int, threads: int) -> List[str]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package: wrk)")
    return [
        "taskset", "-c", str(WRK_CORE), "wrk", "--latency",
        "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s", url,
    ]  # fmt: skip


def run_wrk(url: str, duration: float, connections: int, threads: int) -> Dict[str, float]:
    cmd = _wrk_command(url, duration, connections, threads)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk(done.stdout)


def measure_pair(
    a: Server,
    b: Server,
    path: str,
    *,
    duration: float = 4,
    connections: int = 32,
    warmup: float = 1,
    cpu: Callable[[int], float] = cpu_seconds,
) -> Tuple[Result, Result]:
    """`a` and `b` under load at the same time (one wrk each, `connections` each, both on
    WRK_CORE); each Result's CPU per request comes from `cpu(pid)` (pass a process-tree sum
    for servers with workers)."""
    pair = (a, b)
    if warmup:
        _run_together([s.url + path for s in pair], warmup, connections)
    before = [cpu(s.process.pid) for s in pair]
    stats = _run_together([s.url + path for s in pair], duration, connections)
    used = [cpu(s.process.pid) - start for s, start in zip(pair, before)]
    first, second = (
        Result.of(s.name, path, st, seconds) for s, st, seconds in zip(pair, stats, used)
    )
    return first, second


def _run_together(urls: Sequence[str], duration: float, connections: int) -> List[Dict[str, float]]:
    processes = [
        subprocess.Popen(
            _wrk_command(url, duration, connections, 1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in urls
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=duration + 60)
        if process.returncode:
            raise RuntimeError(f"wrk exited with {process.returncode}: {err.strip()}")
        outputs.append(parse_wrk(out))
    return outputs


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
