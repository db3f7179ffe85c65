"""`flyer config`: every effective setting, its value and where it came from.

flyer-core reports its own and its plugins' settings (`settings_report`: source `default`,
`.env` or `environment`). A project's `settings.py` may change defaults and add fields;
those are reported with the source `settings.py` unless `.env` or the environment set
them. Secrets are masked here as well as in core, so no code path prints one.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

from flyer_cli._errors import CliError
from flyer_cli._project import (
    check_plugin_settings,
    load_settings,
    logs_to_stderr,
    settings_class,
)
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


def _is_secret(annotation: Any) -> bool:
    """A secret, or a URL (`scheme://user:password@host` may carry credentials)."""
    from pydantic import SecretBytes, SecretStr

    if annotation in (SecretStr, SecretBytes):
        return True
    if isinstance(annotation, type) and annotation.__module__.startswith(
        ("pydantic.networks", "pydantic_core")
    ):
        return True  # AnyUrl, PostgresDsn, RedisDsn... (flyer-core's errors hide them too)
    return any(_is_secret(arg) for arg in getattr(annotation, "__args__", ()) or ())


def _text(value: Any) -> str:
    from pydantic import SecretBytes, SecretStr

    if isinstance(value, (SecretStr, SecretBytes)):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def config_rows() -> List[Dict[str, Any]]:
    """Every setting as `{name, value, default, source, secret, help}`, secrets masked.

    Reads `.env` in the current directory and the environment, the way the project's app
    does. A bad value raises CliError (one line).
    """
    from flyer_core import Settings, SettingsError, settings_report

    environ = dict(os.environ)
    project = settings_class()
    instance = load_settings()  # validates every value first: a bad one is a one-line error
    check_plugin_settings(instance)  # the plugins' too (flyer_redis_*, flyer_db_*...)
    try:
        rows = [dict(row) for row in settings_report(env_file=ENV_FILE, environ=environ)]
    except SettingsError as exc:  # pragma: no cover - the report does not validate today
        raise CliError(f"bad settings: {exc}") from None
    if project is not Settings:
        by_name = {row["name"]: index for index, row in enumerate(rows)}
        env = {key.lower() for key in environ}
        merged = instance.environ  # .env and the environment, keys lower-cased
        base = Settings.model_fields
        prefix = str(project.model_config.get("env_prefix") or "flyer_").lower()
        for field, info in project.model_fields.items():
            if field == "environ":
                continue
            default = _text(info.get_default(call_default_factory=True))
            if (
                field in base
                and _text(base[field].get_default(call_default_factory=True)) == default
            ):
                continue  # not the project's: core's row already says it all
            name = prefix + field
            source = "environment" if name in env else ".env" if name in merged else "settings.py"
            row = {
                "name": name,
                "value": _text(getattr(instance, field)),
                "default": default,
                "source": source,
                "secret": _is_secret(info.annotation),
                "help": info.description or "this project's setting (settings.py)",
            }
            if name in by_name:
                rows[by_name[name]] = row
            else:
                rows.append(row)
    return [_masked(row) for row in rows]


def config_command(*, as_json: bool) -> int:
    """Print the effective settings of the project in the current directory."""
    with logs_to_stderr():
        rows = config_rows()
    print_rows(rows, COLUMNS, as_json=as_json)
    return 0
