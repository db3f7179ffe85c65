"""The two schedulers every flyer app shares. Constructing them starts nothing.

`threadpool` (in `_threadpool`, made with `background_scheduler`) is imported when first read.
"""

from typing import TYPE_CHECKING

from flyer_sched._schedulers import AsyncIOScheduler, BackgroundScheduler
from flyer_status import lazy

if TYPE_CHECKING:
    from flyer_sched._threadpool import threadpool

#: The thread-based scheduler (sync jobs run in a thread pool).
background_scheduler = BackgroundScheduler()
#: The asyncio scheduler (coroutine jobs run on the event loop it was started on).
asyncio_scheduler = AsyncIOScheduler()

__all__ = ["asyncio_scheduler", "background_scheduler", "threadpool"]

__getattr__, __dir__ = lazy.exports(__name__, {"threadpool": "flyer_sched._threadpool"})
