"""Start-up counted in instructions: flyer with every plugin beside bare FastAPI, same run.

    python bench/startup_instructions.py

`startup.py` times cold starts; on a shared virtual machine its ratio moves by ±10% from one
run to the next for the same code, more than most start-up changes are worth. This counts
what the work is instead: the instructions (valgrind's callgrind, `Ir`) one process executes
to import uvicorn's server modules, import the app module (building the app) and run its
lifespan start, the path `startup.py` times up to the first 200 (interpreter start included,
binding and the first request left out). The count does not move between runs of the same
code; it leaves out what the kernel does (page faults, file reads) and memory stalls, so it
is a floor of the time, not the time.

Each app runs once with its bytecode written first (as installed packages have it). Printed:
millions of instructions per app and each one's ratio to bare FastAPI's. Needs `valgrind`
(Debian package `valgrind`); not run by `run.py`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict

import servers  # bench/ is the script's directory, on sys.path

APPS = {
    "bare FastAPI": "bare_fastapi_full",
    "flyer (no plugins)": "flyer_app",
    "flyer (all plugins)": "flyer_plugins_app",
}

# What `uvicorn module:app` does up to serving, without the socket: its modules, the app
# module, the lifespan start; then the process ends at once (no shutdown counted).
START = textwrap.dedent(
    """
    import asyncio, os, sys
    import uvicorn.main, uvicorn.config, uvicorn.server, uvicorn.lifespan.on
    import uvicorn.protocols.http.httptools_impl, uvloop

    app = __import__(sys.argv[1]).app

    async def start():
        pending = [{"type": "lifespan.startup"}]
        sent = []

        async def receive():
            if pending:
                return pending.pop()
            await asyncio.sleep(3600)

        async def send(message):
            sent.append(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        asyncio.ensure_future(app(scope, receive, send))
        while not sent:
            await asyncio.sleep(0)
        if sent[0]["type"] != "lifespan.startup.complete":
            print(sent, file=sys.stderr)
            os._exit(1)
        os._exit(0)

    asyncio.run(start())
    """
)


def count(module: str, workdir: Path) -> int:
    """Instructions executed by one start of `module` (after one start that wrote bytecode)."""
    env = servers.environment(workdir, flyer_access_log="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-c", START, module]
    subprocess.run(cmd, cwd=str(workdir), env=env, check=True, capture_output=True)
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        cwd=str(workdir),
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"{module}: valgrind failed:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def run() -> Dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        servers.write_apps(workdir)
        return {label: count(module, workdir) for label, module in APPS.items()}


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package `valgrind`)")
    counts = run()
    bare = counts["bare FastAPI"]
    print(f"Start-up in instructions (Python {sys.version.split()[0]})")
    for label, instructions in counts.items():
        print(f"{label:<22} {instructions / 1e6:8.1f} M   {instructions / bare:5.3f}x bare FastAPI")


if __name__ == "__main__":
    main()
