"""`flyer config`: every effective setting, its value and where it came from.

flyer-core reports its own and its plugins' settings (`settings_report`); a project's
`settings.py` may change defaults and add fields, which are reported with the source
`settings.py` (or `.env` / `environment` when those override them). Secrets are masked
here as well as in core, so no code path prints one.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional

from flyer_cli._errors import CliError, one_line
from flyer_cli._project import settings_class
from flyer_cli._table import print_rows

COLUMNS = ["name", "value", "source"]
MASK = "********"


def _masked(row: Dict[str, Any]) -> Dict[str, Any]:
    if row.get("secret"):
        value = row.get("value")
        row = {**row, "value": MASK if value not in (None, "", MASK) else "", "default": ""}
    return row


def _is_secret(annotation: Any) -> bool:
    from pydantic import SecretBytes, SecretStr

    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(arg) for arg in getattr(annotation, "__args__", ()) or ())


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _dotenv(env_file: str) -> Dict[str, str]:
    if not os.path.isfile(env_file):
        return {}
    from dotenv import dotenv_values

    return {k.lower(): v for k, v in dotenv_values(env_file).items() if v is not None}


def config_rows(
    env_file: str = ".env", environ: Optional[Mapping[str, str]] = None
) -> List[Dict[str, Any]]:
    """Every setting as `{name, value, default, source, secret}`, secrets masked."""
    from flyer_core import Settings, settings_report

    environ = dict(os.environ if environ is None else environ)
    project = settings_class()
    try:
        instance = project(_env_file=env_file if os.path.isfile(env_file) else None)  # type: ignore[call-arg]
        rows = [dict(row) for row in settings_report(env_file=env_file, environ=environ)]
    except ValueError as exc:
        raise CliError(f"bad settings: {one_line(exc)}", exit_code=1) from None
    if project is not Settings:
        prefix = str(project.model_config.get("env_prefix", "flyer_")).lower()
        by_name = {row["name"]: index for index, row in enumerate(rows)}
        lowered = {k.lower(): v for k, v in environ.items()}
        dotenv = _dotenv(env_file)
        base = Settings.model_fields
        for field, info in project.model_fields.items():
            default = info.get_default(call_default_factory=True)
            if field in base and base[field].get_default(call_default_factory=True) == default:
                continue
            name = prefix + field
            if name in lowered:
                source = "environment"
            elif name in dotenv:
                source = ".env"
            else:
                source = "settings.py"
            row = {
                "name": name,
                "value": _display(getattr(instance, field)),
                "default": _display(default),
                "source": source,
                "secret": _is_secret(info.annotation),
            }
            if name in by_name:
                rows[by_name[name]] = row
            else:
                rows.append(row)
    return [_masked(row) for row in rows]


def config_command(env_file: str, *, as_json: bool) -> int:
    """Print the effective settings."""
    print_rows(config_rows(env_file), COLUMNS, as_json=as_json)
    return 0
