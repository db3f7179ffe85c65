"""The flyer-core plugin: a shared `AsyncClient` on `app.state.http`, built from settings."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from flyer_http._settings import HttpSettings, settings_fields

if TYPE_CHECKING:
    from flyer_http._client import AsyncClient


class HttpPlugin:
    """Found by flyer-core through the `flyer.plugins` entry point `http`.

    `setup` reads `flyer_http_*` settings; from start-up, `app.state.http` is an `AsyncClient`
    configured with them (one connection pool for the whole app); shutdown closes it.
    On a flyer app (`FlyerState`), the client is built when `app.state.http` is first read:
    an app that never calls out does not import httpx or load a CA bundle.
    """

    name = "http"
    order = 30

    def __init__(self) -> None:
        self.settings = HttpSettings()
        self.client: Optional[AsyncClient] = None
        self._app: Any = None

    def validate_settings(self, settings: Any) -> None:
        """Check `flyer_http_*` (one `ValueError` line when bad): flyer calls this before binding."""
        HttpSettings.from_env(getattr(settings, "environ", None))

    def setup(self, app: Any, settings: Any) -> None:
        self.settings = HttpSettings.from_env(getattr(settings, "environ", None))
        self._app = app

    async def startup(self) -> None:
        self.settings.check()  # a bad setting fails start-up, not the first call out
        state = self._app.state if self._app is not None else None
        lazy = getattr(state, "flyer_lazy", None)
        if callable(lazy):
            lazy("http", self._build)
        else:
            client = self._build()
            if state is not None:
                state.http = client

    def _build(self) -> AsyncClient:
        from flyer_http._client import AsyncClient

        self.client = AsyncClient(**self.settings.client_kwargs())
        return self.client

    async def shutdown(self) -> None:
        state = self._app.state if self._app is not None else None
        pending = getattr(state, "flyer_pending", None)
        if callable(pending) and pending("http"):
            delattr(state, "http")  # never read: nothing to close
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()
        # The ready-made clients exist only once their module was imported.
        defaults = sys.modules.get("flyer_http._defaults")
        if defaults is not None:
            await defaults.release()

    def settings_fields(self) -> List[Dict[str, Any]]:
        return settings_fields()
