"""Prometheus multiprocess mode for `flyer serve`: the directory every worker writes to.

The serving process prepares it before any worker starts (so every worker's prometheus-client
writes its values there), marks each worker dead as it exits (its live gauges go; its counts
stay) and, when it made the directory itself, removes it at exit. A restarted server starts
from an empty directory.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

logger = logging.getLogger("flyer.telemetry")

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Optional[str]:
    """The shared directory of this server's workers, or None when metrics are per process."""
    return os.environ.get(VARIABLE) or os.environ.get(VARIABLE.lower()) or None


class SharedDirectory:
    """The directory of one server run: made (or emptied) in `prepare`, gone after `stop`."""

    def __init__(self) -> None:
        self.path: Optional[str] = None
        self.created = False
        self.previous: Optional[str] = None

    def prepare(self) -> str:
        """Before workers start: an empty directory, named in `PROMETHEUS_MULTIPROC_DIR`."""
        self.previous = os.environ.get(VARIABLE)
        configured = multiprocess_dir()
        if configured:
            Path(configured).mkdir(parents=True, exist_ok=True)
            path = configured
        else:
            path = tempfile.mkdtemp(prefix="flyer-metrics-")
            self.created = True
        # A restarted server starts clean: the values of an earlier run are not this run's.
        for stale in Path(path).glob("*.db"):
            stale.unlink()
        os.environ[VARIABLE] = path
        self.path = path
        logger.info("metrics shared by the workers", extra={"directory": path})
        return path

    def worker_exited(self, pid: int) -> None:
        """A worker exited (or was killed): its live gauges go, its counts stay."""
        if self.path is None:
            return
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, self.path)  # type: ignore[no-untyped-call]

    def stop(self) -> None:
        """The server stopped: remove the directory if it was made here."""
        if self.path is None:
            return
        if self.created:
            shutil.rmtree(self.path, ignore_errors=True)
            if self.previous is None:
                os.environ.pop(VARIABLE, None)
            else:
                os.environ[VARIABLE] = self.previous
        self.path = None
        self.created = False
