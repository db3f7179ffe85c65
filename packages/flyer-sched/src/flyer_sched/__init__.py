"""Scheduled jobs that run once per tick across every process and host.

`background_scheduler` and `asyncio_scheduler` are APScheduler 3 schedulers; `@scheduler.lock()`
makes a job run once per scheduled tick fleet-wide, `@scheduler.leader()` runs a long-lived
function in exactly one process, and `threadpool` runs FastFlyer-style background loops. Creating the two schedulers starts nothing: the app's
lifespan (through flyer-core's plugin) or your own code starts and stops them.

APScheduler is imported when a scheduler is first used (a job added, a scheduler started),
not by `import flyer_sched` or while an app is built; `AsyncIOExecutor` and
`ThreadPoolExecutor` load on first access.
"""

from typing import TYPE_CHECKING

from flyer_sched.__about__ import __version__
from flyer_status import lazy

if TYPE_CHECKING:
    from flyer_sched._defaults import asyncio_scheduler, background_scheduler
    from flyer_sched._events import OUTCOMES, RunEvent, RunHook, RunWrapper
    from flyer_sched._executors import AsyncIOExecutor, ThreadPoolExecutor
    from flyer_sched._file_store import FileLockStore
    from flyer_sched._leader import Lease, current_lease
    from flyer_sched._memory_store import MemoryLockStore
    from flyer_sched._plugin import SchedPlugin
    from flyer_sched._redis_store import RedisLockStore
    from flyer_sched._router import create_router
    from flyer_sched._schedulers import AsyncIOScheduler, BackgroundScheduler, Scheduler
    from flyer_sched._settings import SchedSettings
    from flyer_sched._store import Claim, LockStatus, LockStore, LockStoreError
    from flyer_sched._threadpool import ThreadPool, threadpool
    from flyer_sched._tick import Tick, current_tick

# Every public name is imported when first read (PEP 562): the `flyer.plugins` entry point
# loads `flyer_sched._plugin` and what that needs; the executors need APScheduler.
_LAZY = {
    "asyncio_scheduler": "flyer_sched._defaults",
    "background_scheduler": "flyer_sched._defaults",
    "threadpool": "flyer_sched._threadpool",
    "OUTCOMES": "flyer_sched._events",
    "RunEvent": "flyer_sched._events",
    "RunHook": "flyer_sched._events",
    "RunWrapper": "flyer_sched._events",
    "AsyncIOExecutor": "flyer_sched._executors",
    "ThreadPoolExecutor": "flyer_sched._executors",
    "FileLockStore": "flyer_sched._file_store",
    "Lease": "flyer_sched._leader",
    "current_lease": "flyer_sched._leader",
    "MemoryLockStore": "flyer_sched._memory_store",
    "SchedPlugin": "flyer_sched._plugin",
    "RedisLockStore": "flyer_sched._redis_store",
    "create_router": "flyer_sched._router",
    "AsyncIOScheduler": "flyer_sched._schedulers",
    "BackgroundScheduler": "flyer_sched._schedulers",
    "Scheduler": "flyer_sched._schedulers",
    "SchedSettings": "flyer_sched._settings",
    "Claim": "flyer_sched._store",
    "LockStatus": "flyer_sched._store",
    "LockStore": "flyer_sched._store",
    "LockStoreError": "flyer_sched._store",
    "ThreadPool": "flyer_sched._threadpool",
    "Tick": "flyer_sched._tick",
    "current_tick": "flyer_sched._tick",
}

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

__getattr__, __dir__ = lazy.exports(__name__, _LAZY)
