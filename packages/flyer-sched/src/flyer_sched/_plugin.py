"""flyer-core's plugin: settings, the `/tasks` router, and the schedulers' start and stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

from flyer_sched._defaults import asyncio_scheduler, background_scheduler
from flyer_sched._schedulers import Scheduler
from flyer_sched._settings import SchedSettings, settings_fields

logger = logging.getLogger("flyer.sched")


class SchedPlugin:
    """Starts `background_scheduler` and `asyncio_scheduler` with the app, stops them after.

    The asyncio scheduler starts on the app's event loop. Schedulers that were already
    running when the app started are left to whoever started them.
    """

    name = "sched"
    order = 50

    def __init__(self, schedulers: Optional[List[Scheduler]] = None) -> None:
        self.schedulers: List[Scheduler] = (
            list(schedulers)
            if schedulers is not None
            else [background_scheduler, asyncio_scheduler]
        )
        self.settings: Optional[SchedSettings] = None
        self._started: List[Scheduler] = []

    def validate_settings(self, settings: Any) -> None:
        """Check `flyer_sched_*` (one `ValueError` line when bad): flyer calls this before binding."""
        SchedSettings.from_env(getattr(settings, "environ", None))

    def setup(self, app: Any, settings: Any) -> None:
        from fastapi import Depends

        from flyer_sched._router import add_routes

        environ = getattr(settings, "environ", None)
        self.settings = SchedSettings.from_env(environ)
        for scheduler in self.schedulers:
            scheduler.use_settings(self.settings)
        base_url = str(getattr(settings, "base_url", "") or "").rstrip("/")
        auth = getattr(app.state, "flyer_auth", None)
        dependencies = [Depends(auth)] if auth is not None else []
        add_routes(
            app,
            self.schedulers,
            prefix=f"{base_url}/tasks",
            dependencies=dependencies,
            tags=["tasks"],
        )

    async def startup(self) -> None:
        if self.settings is not None and not self.settings.enabled:
            logger.info("schedulers not started: flyer_sched_enabled is off")
            return
        for scheduler in self.schedulers:
            if not scheduler.running:
                scheduler.start()
                self._started.append(scheduler)

    async def shutdown(self) -> None:
        timeout = self.settings.shutdown_timeout if self.settings else None
        started, self._started = self._started, []
        for scheduler in reversed(started):
            if scheduler.running and not await scheduler.aclose(timeout):
                logger.warning("%s scheduler stopped with jobs still running", scheduler.flyer_name)

    async def check(self) -> Dict[str, Any]:
        loop = asyncio.get_running_loop()
        report: Dict[str, Any] = {"ok": True}
        for scheduler in self._started:
            report[scheduler.flyer_name] = "running" if scheduler.running else "stopped"
            report["ok"] = report["ok"] and scheduler.running
        needs_store = any(
            getattr(job.func, "__flyer_lock__", None) is not None
            for scheduler in self.schedulers
            for job in scheduler.get_jobs()
        ) or any(scheduler.get_leaders() for scheduler in self.schedulers)
        if needs_store:
            store = self.schedulers[0].lock_store
            reachable = await loop.run_in_executor(None, store.ping)
            report["lock_store"] = f"{store.kind}: {'ok' if reachable else 'unreachable'}"
        return report

    def settings_fields(self) -> List[Dict[str, Any]]:
        return settings_fields()
