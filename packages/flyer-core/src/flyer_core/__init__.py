"""The flyer app factory: settings, logging, envelope, middleware, health, docs, plugins, runners.

```python
from flyer_core import create_app

app = create_app()          # discovers the routers of the `app` package
```
"""

from typing import TYPE_CHECKING

from flyer_core.__about__ import __version__
from flyer_core._app import create_app
from flyer_core._errors import StartupError
from flyer_core._fastpath import APIRouter
from flyer_core._logging import configure_logging, logger
from flyer_core._plugins import FlyerPlugin, LoadedPlugin, check_plugin_settings
from flyer_core._settings import Settings, SettingsError, load_settings
from flyer_core._state import FlyerState
from flyer_status import (
    FlyerError,
    ThirdPartyDataError,
    ThirdPartyError,
    ThirdPartyNetworkError,
    ThirdPartyRetryError,
    ThirdPartyStatusError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
    get_request_id,
    lazy,
    status,
)

if TYPE_CHECKING:
    from flyer_core._report import settings_report
    from flyer_core._runners import run_dev, run_prod

# What runs a server or prints the settings is imported when first read: building an app
# does not need it.
__getattr__, __dir__ = lazy.exports(
    __name__,
    {
        "run_dev": "flyer_core._runners",
        "run_prod": "flyer_core._runners",
        "settings_report": "flyer_core._report",
    },
)

__all__ = [
    "APIRouter",
    "FlyerError",
    "FlyerPlugin",
    "FlyerState",
    "LoadedPlugin",
    "Settings",
    "SettingsError",
    "StartupError",
    "ThirdPartyDataError",
    "ThirdPartyError",
    "ThirdPartyNetworkError",
    "ThirdPartyRetryError",
    "ThirdPartyStatusError",
    "ThirdPartyTimeoutError",
    "ThirdPartyUnavailableError",
    "__version__",
    "check_plugin_settings",
    "configure_logging",
    "create_app",
    "get_request_id",
    "load_settings",
    "logger",
    "run_dev",
    "run_prod",
    "settings_report",
    "status",
]
