"""`settings_report`: every setting, its value, default and source, for `flyer config`.

Secrets are masked; the report never holds one in clear.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Type

from pydantic import SecretBytes, SecretStr

from flyer_core._logging import logger
from flyer_core._plugins import LoadedPlugin, discover_plugins
from flyer_core._settings import DEFAULT_ENV_FILE, PREFIX, Settings, hidden_fields, read_env_file

MASK = "********"


def _text(value: Any) -> str:
    if isinstance(value, (SecretStr, SecretBytes)):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def _default(field: Any) -> str:
    return _text(field.get_default(call_default_factory=True))


def _model_fields(settings_cls: Type[Settings]) -> List[Dict[str, Any]]:
    """A row per field of `settings_cls`; `own` marks a project's field or changed default."""
    hidden = hidden_fields(settings_cls)
    base = Settings.model_fields
    fields = []
    for name, field in settings_cls.model_fields.items():
        if name == "environ":
            continue
        default = _default(field)
        own = name not in base or _default(base[name]) != default
        fields.append(
            {
                "name": PREFIX + name,
                "default": default,
                "secret": name in hidden,
                "help": field.description
                or ("this project's setting (settings.py)" if own else ""),
                "field": name,
                "own": own,
            }
        )
    return fields


def _plugin_fields(plugins: Iterable[LoadedPlugin]) -> List[Dict[str, Any]]:
    fields: List[Dict[str, Any]] = []
    for item in plugins:
        describe = getattr(item.plugin, "settings_fields", None)
        if describe is None:
            continue
        try:
            declared = list(describe())
        except Exception as exc:
            logger.warning("plugin settings_fields failed", plugin=item.name, error=repr(exc))
            continue
        for raw in declared:
            fields.append(
                {
                    "name": str(raw["name"]).lower(),
                    "default": _text(raw.get("default", "")),
                    "secret": bool(raw.get("secret", False)),
                    "help": str(raw.get("help", "")),
                    "plugin": item.name,
                }
            )
    return fields


def settings_report(
    env_file: Optional[str] = DEFAULT_ENV_FILE,
    environ: Optional[Mapping[str, str]] = None,
    *,
    plugins: Optional[Iterable[LoadedPlugin]] = None,
    settings: Optional[Settings] = None,
) -> List[Dict[str, Any]]:
    """One dict per setting (core first, then each plugin's `settings_fields()`):
    `{"name", "value", "default", "source": "default" | ".env" | "environment", "secret",
    "help"}`. A secret's value reads `********` when it is set. Values are not validated,
    but a `.env` line that cannot be parsed raises `SettingsError` (one line).

    With `settings` (loaded, so validated: a project's `Settings` subclass too), the rows of
    its fields come from its class and show its effective values; a project's own field or
    changed default reads source `settings.py` unless `.env` or the environment sets it.
    """
    env = {k.lower(): v for k, v in (os.environ if environ is None else environ).items()}
    dotenv = {k.lower(): v for k, v in read_env_file(env_file).items()}
    if plugins is None:
        try:
            plugins = discover_plugins()
        except Exception as exc:
            logger.warning("plugins not loaded for the report", error=str(exc))
            plugins = []
    report: List[Dict[str, Any]] = []
    seen = set()
    settings_cls = Settings if settings is None else type(settings)
    for field in _model_fields(settings_cls) + _plugin_fields(plugins):
        name = field["name"]
        if name in seen:
            continue
        seen.add(name)
        attribute, own = field.pop("field", None), field.pop("own", False)
        if name in env:
            value, source = env[name], "environment"
        elif name in dotenv:
            value, source = dotenv[name], ".env"
        else:
            value, source = field["default"], "settings.py" if own else "default"
        if settings is not None and attribute is not None:
            value = _text(getattr(settings, attribute))
        if field["secret"]:
            value = MASK if value else ""
            field["default"] = MASK if field["default"] else ""
        report.append({**field, "value": value, "source": source})
    return report
