"""The two schedulers every flyer app shares. Constructing them starts nothing."""

from flyer_sched._schedulers import AsyncIOScheduler, BackgroundScheduler
from flyer_sched._threadpool import ThreadPool

#: The thread-based scheduler (sync jobs run in a thread pool).
background_scheduler = BackgroundScheduler()
#: The asyncio scheduler (coroutine jobs run on the event loop it was started on).
asyncio_scheduler = AsyncIOScheduler()
#: FastFlyer's `threadpool`: long-running loops on `background_scheduler`'s lifecycle.
threadpool = ThreadPool(background_scheduler)
