"""Where the access line's cost goes in a loaded server: access log off against stages of it.

    python bench/access_cost.py [--rounds 7] [--duration 3] [--connections 16]

`bench/run.py`'s "access log on vs off" target compares flyer's `DataResponse` route with the
access log on and off. This script splits that ratio into stages, each one a flyer server
(`bench/core.py`'s app and uvicorn command, access log on) paired with the access log off
(`_wrk.measure_pair`: both loaded at once on one core, fresh processes every round), the
stage made by replacing one of flyer's functions in the server at start:

- `call`: the middleware calls a `log_request` that does nothing (the call itself);
- `held`: `log_request` as it is, the handler dropping the loop iteration's held lines
  instead of writing them (the values taken in each request and handed to the handler);
- `rendered`: the held lines rendered into the iteration's text, not written;
- `on`: the access line as it is (rendered and written to the server's log file).

Printed: for each stage, the median over the rounds of off's CPU per request / the stage's
(1.0: free; `run.py`'s target for `on` is 0.97) and the same for requests per second.
Not in `run.py`; it takes about a minute per stage and 7 rounds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, List

import core  # bench/ is the script's directory, on sys.path
import servers
from _wrk import measure_pair

STAGES = ("call", "held", "rendered", "on")

# Imported by every server process of this script (its directory is first on PYTHONPATH);
# `flyer_bench_access_stage` names the stage.
SITECUSTOMIZE = """
import os

stage = os.environ.get("flyer_bench_access_stage", "")
if stage in ("call", "held", "rendered"):
    from flyer_core import _logging, _middleware

    if stage == "call":
        def log_request(scope, status, start):
            pass

        _middleware.log_request = log_request
    else:
        def _write_pending(self):
            pending = self.pending
            taken = pending[:]
            del pending[: len(taken)]
            if stage == "rendered" and taken:
                _logging._render_lines(taken)

        _logging._LineHandler._write_pending = _write_pending
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16, help="per server")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    args = parser.parse_args()

    cpu: Dict[str, List[float]] = {stage: [] for stage in args.stages}
    rps: Dict[str, List[float]] = {stage: [] for stage in args.stages}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        servers.write_apps(workdir)
        site = workdir / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
        path = f"{workdir}:{site}"
        for number in range(args.rounds):
            for stage in args.stages if number % 2 == 0 else list(reversed(args.stages)):
                off = core.start("off", "flyer_app", workdir, flyer_access_log="0", PYTHONPATH=path)
                staged = core.start(
                    stage,
                    "flyer_app",
                    workdir,
                    flyer_access_log="1",
                    flyer_bench_access_stage=stage,
                    PYTHONPATH=path,
                )
                try:
                    base, measured = measure_pair(
                        off,
                        staged,
                        core.ITEM,
                        duration=args.duration,
                        connections=args.connections,
                    )
                finally:
                    off.stop()
                    staged.stop()
                cpu[stage].append(base.cpu_us_per_request / measured.cpu_us_per_request)
                rps[stage].append(measured.rps / base.rps)
                print(f"round {number + 1} {stage:<9} CPU {cpu[stage][-1]:.3f}", flush=True)
    print(f"stage vs access log off, medians of {args.rounds} paired rounds (1.0: free)")
    for stage in args.stages:
        print(
            f"  {stage:<9} CPU {statistics.median(cpu[stage]):.3f}  "
            f"req/s {statistics.median(rps[stage]):.3f}"
        )


if __name__ == "__main__":
    main()
