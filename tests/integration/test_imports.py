"""Importing every flyer package together is free of side effects (DESIGN: no import-time I/O)."""

from __future__ import annotations

import json
import subprocess
import sys

MODULES = [
    "flyer_status",
    "flyer_http",
    "flyer_cache",
    "flyer_db",
    "flyer_sched",
    "flyer_mcp",
    "flyer_core",
    "flyer_cli",
]

PROBE = """
import json, os, sys, threading
cwd, path, threads = os.getcwd(), list(sys.path), threading.active_count()
import socket
opened = []
real_connect = socket.socket.connect
def spy(self, address):
    opened.append(repr(address))
    return real_connect(self, address)
socket.socket.connect = spy
for name in %r:
    __import__(name)
print(json.dumps({
    "cwd_same": os.getcwd() == cwd,
    "path_same": sys.path == path,
    "threads": threading.active_count() - threads,
    "connects": opened,
}))
"""


def test_importing_every_package_does_no_io_and_changes_no_global_state() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (MODULES,)], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"cwd_same": True, "path_same": True, "threads": 0, "connects": []}
