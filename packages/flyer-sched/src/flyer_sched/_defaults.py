"""The two schedulers every flyer app shares. Constructing them starts nothing."""

from flyer_sched._schedulers import AsyncIOScheduler, BackgroundScheduler

#: The thread-based scheduler (sync jobs run in a thread pool).
background_scheduler = BackgroundScheduler()
#: The asyncio scheduler (coroutine jobs run on the event loop it was started on).
asyncio_scheduler = AsyncIOScheduler()
