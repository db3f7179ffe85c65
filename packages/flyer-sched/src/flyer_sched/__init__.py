"""Scheduled jobs that run once per tick across every process and host.

`background_scheduler` and `asyncio_scheduler` are APScheduler 3 schedulers; `@scheduler.lock()`
makes a job run once per scheduled tick fleet-wide, `@scheduler.leader()` runs a long-lived
function in exactly one process, and `threadpool` runs FastFlyer-style background loops. Creating the two schedulers starts nothing: the app's
lifespan (through flyer-core's plugin) or your own code starts and stops them.

APScheduler is imported when a scheduler is first used (a job added, a scheduler started),
not by `import flyer_sched` or while an app is built; `AsyncIOExecutor` and
`ThreadPoolExecutor` load on first access.
"""

import importlib
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from flyer_sched.__about__ import __version__
from flyer_sched._defaults import asyncio_scheduler, background_scheduler, threadpool
from flyer_sched._events import OUTCOMES, RunEvent, RunHook, RunWrapper
from flyer_sched._file_store import FileLockStore
from flyer_sched._leader import Lease, current_lease
from flyer_sched._memory_store import MemoryLockStore
from flyer_sched._plugin import SchedPlugin
from flyer_sched._redis_store import RedisLockStore
from flyer_sched._router import create_router
from flyer_sched._schedulers import AsyncIOScheduler, BackgroundScheduler, Scheduler
from flyer_sched._settings import SchedSettings
from flyer_sched._store import Claim, LockStatus, LockStore, LockStoreError
from flyer_sched._threadpool import ThreadPool
from flyer_sched._tick import Tick, current_tick

if TYPE_CHECKING:
    from flyer_sched._executors import AsyncIOExecutor, ThreadPoolExecutor

# Names that need APScheduler, imported on first access.
_LAZY: Dict[str, Tuple[str, str]] = {
    "AsyncIOExecutor": ("flyer_sched._executors", "AsyncIOExecutor"),
    "ThreadPoolExecutor": ("flyer_sched._executors", "ThreadPoolExecutor"),
}


def __getattr__(name: str) -> Any:
    lazy = _LAZY.get(name)
    if lazy is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = lazy
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "OUTCOMES",
    "AsyncIOExecutor",
    "AsyncIOScheduler",
    "BackgroundScheduler",
    "Claim",
    "FileLockStore",
    "Lease",
    "LockStatus",
    "LockStore",
    "LockStoreError",
    "MemoryLockStore",
    "RedisLockStore",
    "RunEvent",
    "RunHook",
    "RunWrapper",
    "SchedPlugin",
    "SchedSettings",
    "Scheduler",
    "ThreadPool",
    "ThreadPoolExecutor",
    "Tick",
    "__version__",
    "asyncio_scheduler",
    "background_scheduler",
    "create_router",
    "current_lease",
    "current_tick",
    "threadpool",
]
