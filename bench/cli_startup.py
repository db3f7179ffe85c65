"""Start-up time of the `flyer` command (a benchmark, not a test): `flyer --help` and
`flyer version` against bare `python -c pass`, median of N runs, printed with the ratio.

    python bench/cli_startup.py [RUNS]

Budget: `flyer --help` under 0.3 s. Run it in an environment where flyer-cli is installed.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from typing import List


def _median(command: List[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    script = shutil.which("flyer")
    flyer = [script] if script else [sys.executable, "-m", "flyer_cli"]
    bare = _median([sys.executable, "-c", "pass"], runs)
    print(f"python -c pass     {bare * 1000:7.1f} ms")
    for args in (["--help"], ["create", "--help"], ["version"]):
        took = _median([*flyer, *args], runs)
        label = "flyer " + " ".join(args)
        print(f"{label:<18} {took * 1000:7.1f} ms  ({took / bare:.2f}x bare python; budget 300 ms)")


if __name__ == "__main__":
    main()
