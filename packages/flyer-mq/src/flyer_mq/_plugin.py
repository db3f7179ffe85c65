"""`MQPlugin`: the app's broker, connected in its lifespan (entry point `mq`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from flyer_mq._settings import MQSettings, settings_fields

# With no `flyer_mq_url` (the default) the plugin does nothing: the modules only a broker
# needs are imported where they are used, so an app without one does not load them.
if TYPE_CHECKING:
    from flyer_mq._router import MQRouter
    from flyer_mq._service import Service

logger = logging.getLogger("flyer.mq")


def app_routers(app: Any) -> List[Tuple[str, MQRouter]]:
    """`(package, mq)` of every enabled app package that exports `mq`, in sorted order."""
    found: List[Tuple[str, MQRouter]] = []
    for name, module in getattr(app.state, "flyer_app_modules", None) or ():
        router = getattr(module, "mq", None)
        if router is None:
            continue
        from flyer_mq._router import MQRouter

        if not isinstance(router, MQRouter):
            raise TypeError(
                f"app {name!r}: mq is a {type(router).__name__}; expected a flyer_mq.MQRouter"
            )
        found.append((name, router))
    return found


class MQPlugin:
    """flyer-core's plugin for messaging, found through the `flyer.plugins` entry point.

    - `validate_settings`: `flyer_mq_*`, one line naming the bad variable (passwords hidden).
    - `setup`: with `flyer_mq_url` set, builds the broker (no I/O) and serves the AsyncAPI
      document at `{base}/asyncapi` and `{base}/asyncapi.json`.
    - `startup`: mounts the `mq` router of every enabled app package and connects; it runs
      after the plugins ordered before it (cache, database) and `shutdown` before theirs:
      consumers stop, in-flight handlers finish within `flyer_graceful_timeout`, then the
      connection closes.
    - `check`: `{base}/ready` includes the broker's ping.
    With no `flyer_mq_url` (or on Python < 3.10) it logs one line and does nothing else.
    """

    name = "mq"
    order = 500

    def __init__(self) -> None:
        self.service: Optional[Service] = None
        self._app: Any = None

    def validate_settings(self, settings: Any) -> None:
        """Check `flyer_mq_*` (one `ValueError` line when bad): flyer calls this before binding."""
        MQSettings.from_env(getattr(settings, "environ", None))

    def setup(self, app: Any, settings: Any) -> None:
        own = MQSettings.from_env(getattr(settings, "environ", None))
        if own.url is None:
            logger.info("mq off: flyer_mq_url is not set")
            return
        from flyer_mq._support import SUPPORTED, UNSUPPORTED_REASON

        if not SUPPORTED:
            logger.warning("mq off: %s", UNSUPPORTED_REASON)
            return
        from flyer_mq._asyncapi import mount_docs
        from flyer_mq._service import Service

        graceful = float(getattr(settings, "graceful_timeout", 15) or 15)
        self.service = Service(own, graceful_timeout=graceful)
        self._app = app
        mount_docs(app, self.service, str(getattr(settings, "base_url", "") or ""))

    async def startup(self) -> None:
        if self.service is None:
            return
        for _name, router in app_routers(self._app):
            self.service.mount(router)
        await self.service.start()
        from flyer_mq import _publish

        _publish.register(self.service)

    async def shutdown(self) -> None:
        if self.service is None:
            return
        from flyer_mq import _publish

        _publish.unregister(self.service)
        await self.service.stop()

    async def check(self) -> Dict[str, Any]:
        """Readiness: `{"ok": bool, "enabled": bool, "broker"?: kind}`."""
        if self.service is None:
            return {"ok": True, "enabled": False}
        return {
            "ok": await self.service.ping(),
            "enabled": True,
            "broker": self.service.kind,
        }

    def settings_fields(self) -> List[Dict[str, Any]]:
        """The `flyer_mq_*` variables, for `flyer config`."""
        return settings_fields()
