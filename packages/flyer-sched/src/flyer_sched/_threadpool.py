"""`threadpool`: FastFlyer's long-running background loops, started and stopped with the app.

`threadpool.submit_task(fn, *args, **kwargs)` and `@threadpool.submit()` register a function
that runs in a thread while the app runs. With `single_job=True` (the default, as in FastFlyer)
it runs in exactly one process of the fleet: the processes campaign for a lease (the leader
machinery of `scheduler.leader()`) and another process takes over within the lease TTL when
the one running it dies. Inside the function, `threadpool.is_stopped()` and
`threadpool.sleep(seconds)` let the loop end promptly at shutdown or when the lease is lost.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, TypeVar, overload

from flyer_sched._defaults import background_scheduler
from flyer_sched._leader import Leader, current_lease
from flyer_sched._lock import default_job_id
from flyer_sched._memory_store import MemoryLockStore

if TYPE_CHECKING:
    from flyer_sched._schedulers import BackgroundScheduler

F = TypeVar("F", bound=Callable[..., Any])


class ThreadPool:
    """Background loops on a `BackgroundScheduler`'s lifecycle (see the module docstring)."""

    def __init__(self, scheduler: BackgroundScheduler) -> None:
        self.scheduler = scheduler
        self._mutex = threading.Lock()
        self._counts: Dict[str, int] = {}

    def submit_task(
        self, fn: Callable[..., Any], *args: Any, single_job: bool = True, **kwargs: Any
    ) -> Leader:
        """Run `fn(*args, **kwargs)` in a thread while the app runs (now, if it already does).

        `single_job=True`: in one process of the fleet. `False`: in every process. A function
        that returns is done (it is not run again); one that raises is logged and run again
        after a second. Returns the task's `Leader` (`.id`, `.running`, `.lease`).
        """
        if single_job not in (True, False):
            raise ValueError(f"single_job={single_job!r}: expected True or False")
        if not callable(fn):
            raise TypeError(f"threadpool.submit_task needs a function, got {fn!r}")
        base = f"threadpool:{default_job_id(fn)}"
        with self._mutex:
            count = self._counts.get(base, 0) + 1
            self._counts[base] = count
        # Submitting the same function again (other arguments) makes another task; processes
        # that import the same code number them alike, so their ids match across the fleet.
        task_id = base if count == 1 else f"{base}#{count}"
        return self.scheduler.add_leader(
            fn,
            id=task_id,
            store=None if single_job else MemoryLockStore(),
            args=args,
            kwargs=kwargs,
            once=True,
        )

    @overload
    def submit(self, fn: F) -> F: ...

    @overload
    def submit(self, *, single_job: bool = True) -> Callable[[F], F]: ...

    def submit(self, fn: Any = None, *, single_job: bool = True) -> Any:
        """Decorator form of `submit_task`: `@threadpool.submit()` registers the function and
        returns it unchanged (FastFlyer's returned the future)."""

        def decorate(func: F) -> F:
            self.submit_task(func, single_job=single_job)
            return func

        return decorate(fn) if fn is not None else decorate

    def is_stopped(self) -> bool:
        """True when the calling task should return: the app is stopping, or its lease was
        lost. Outside a task: whether the scheduler is stopped."""
        lease = current_lease()
        if lease is not None:
            return lease.stopping
        return not self.scheduler.running

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once when the task should stop; returns
        `is_stopped()`."""
        lease = current_lease()
        if lease is not None:
            return lease.wait(max(0.0, seconds))
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.is_stopped():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.1))
        return True

    def get_task(self, task_id: str) -> Optional[Leader]:
        """The task registered under `task_id` (`threadpool:module:qualname`), if any."""
        for leader in self.scheduler.get_leaders():
            if leader.id == task_id:
                return leader
        return None


#: FastFlyer's `threadpool`: long-running loops on `background_scheduler`'s lifecycle.
threadpool = ThreadPool(background_scheduler)
