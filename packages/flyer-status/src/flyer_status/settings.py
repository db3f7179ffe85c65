"""Settings for flyer packages, standard library only: `from flyer_status import settings`.

One `.env` grammar (read strictly), one merged view of the environment and `.env`, and one
set of field rules, so every package reads a variable the same way inside an app and alone:

    env = settings.environment()          # os.environ over ./.env, names lower-cased
    port = env.port("flyer_redis_port", 6379)
    timeout = env.seconds("flyer_http_timeout", 5.0)

A bad value raises `SettingsError` (a `ValueError`) whose text is one line naming the
variable, the value and what is allowed; a secret's value and a URL's password never show.
"""

from flyer_status._dotenv import expand, parse_env, read_env_file
from flyer_status._errors import SettingsError
from flyer_status._fields import (
    BOOLEAN,
    DEFAULT_ENV_FILE,
    Environment,
    Secret,
    default_text,
    environment,
    parse_boolean,
    parse_choice,
    parse_integer,
    parse_names,
    parse_number,
    parse_port,
    parse_seconds,
    parse_url,
    redact_url,
)

__all__ = [
    "BOOLEAN",
    "DEFAULT_ENV_FILE",
    "Environment",
    "Secret",
    "SettingsError",
    "default_text",
    "environment",
    "expand",
    "parse_boolean",
    "parse_choice",
    "parse_env",
    "parse_integer",
    "parse_names",
    "parse_number",
    "parse_port",
    "parse_seconds",
    "parse_url",
    "read_env_file",
    "redact_url",
]
