"""The flyer-core plugin: settings for `get_engine`/`get_session`, readiness, pools closed at exit."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Dict, List

from flyer_db._settings import DEFAULT_TIMEOUT, DBSettings, set_default_settings, settings_fields

# SQLAlchemy and the engine, URL, registry and readiness modules are imported by the hooks
# that use them (a database configured or used), not with the plugin.


class DBPlugin:
    """Found by flyer-core through the `flyer.plugins` entry point `db`.

    `setup` reads `flyer_db_*` from the app's settings (`.env` included) and makes them what
    `get_engine()` and the `get_session` dependency use. Nothing connects at start-up.
    The readiness check runs `SELECT 1` on every engine flyer-db made in this process
    (`get_mysql_pool`, `create_engine`, `get_dataset_pool`...) and on the configured
    database when `flyer_db_url` or `flyer_db_host`... name a server, each within 2 s (or
    0.8 x flyer-core's `ready_timeout` when shorter). Shutdown closes the pools' idle
    connections.
    """

    name = "db"
    order = 20

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.settings = DBSettings()
        self.timeout = timeout

    def validate_settings(self, settings: Any) -> None:
        """Check `flyer_db_*` (one `ValueError` line when bad): flyer calls this before binding."""
        DBSettings.from_env(getattr(settings, "environ", None))

    def setup(self, app: Any, settings: Any) -> None:
        self.settings = DBSettings.from_env(getattr(settings, "environ", None))
        set_default_settings(self.settings)
        ready_timeout = getattr(settings, "ready_timeout", None)
        if isinstance(ready_timeout, (int, float)) and ready_timeout > 0:
            # Answer before flyer-core's deadline, so the report names the failing database.
            self.timeout = min(self.timeout, 0.8 * ready_timeout)

    async def startup(self) -> None:
        """Nothing to do: engines connect on first use."""

    async def shutdown(self) -> None:
        # Every engine flyer-db makes is tracked there: never imported, no engine to close.
        registry = sys.modules.get("flyer_db._registry")
        if registry is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, registry.dispose_engines)

    async def check(self) -> Dict[str, Any]:
        from flyer_db import _registry
        from flyer_db._check import acheck_engine

        engines = _registry.engines()
        if self.settings.server:
            from flyer_db._engine import get_engine

            configured = get_engine(self.settings)
            if configured not in engines:
                engines.append(configured)
        results = await asyncio.gather(*(acheck_engine(e, self.timeout) for e in engines))
        return {"ok": all(result["ok"] for result in results), "databases": list(results)}

    def settings_fields(self) -> List[Dict[str, Any]]:
        return settings_fields()
