"""`flyer config`: every effective setting, its value and where it came from.

flyer-core reports its own, the project's and its plugins' settings (`settings_report`:
source `default`, `settings.py`, `.env` or `environment`). A project's `settings.py` may
change defaults and add fields; those are reported with the source `settings.py` unless
`.env` or the environment set them. Secrets (and URLs, which may carry one) are masked in
core, and again here, so no code path prints one.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

from flyer_cli._errors import CliError
from flyer_cli._project import check_plugin_settings, load_settings, logs_to_stderr
from flyer_cli._table import print_rows

COLUMNS = ["name", "value", "source"]
ENV_FILE = ".env"
MASK = "********"


def _masked(row: Dict[str, Any]) -> Dict[str, Any]:
    if not row.get("secret"):
        return row
    value, default = row.get("value"), row.get("default")
    return {
        **row,
        "value": MASK if value not in (None, "") else "",
        "default": MASK if default not in (None, "") else "",
    }


def config_rows() -> List[Dict[str, Any]]:
    """Every setting as `{name, value, default, source, secret, help}`, secrets masked.

    Reads `.env` in the current directory and the environment, the way the project's app
    does, and validates every value first, every installed plugin's too: a bad one raises
    CliError (one line). The rows come from flyer-core's `settings_report`, given the
    project's settings (its `Settings` subclass, when `settings.py` has one).
    """
    from flyer_core import SettingsError, settings_report

    instance = load_settings()  # validates every value first: a bad one is a one-line error
    check_plugin_settings(instance)  # the plugins' too (flyer_redis_*, flyer_db_*...)
    try:
        rows = settings_report(env_file=ENV_FILE, environ=dict(os.environ), settings=instance)
    except SettingsError as exc:  # pragma: no cover - load_settings read the same .env
        raise CliError(f"bad settings: {exc}") from None
    return [_masked(dict(row)) for row in rows]


def config_command(*, as_json: bool) -> int:
    """Print the effective settings of the project in the current directory."""
    with logs_to_stderr():
        rows = config_rows()
    print_rows(rows, COLUMNS, as_json=as_json)
    return 0
