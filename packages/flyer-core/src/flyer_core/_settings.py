"""flyer's settings: every `flyer_*` variable, read from `.env` and the environment.

Names are FastFlyer's (case-insensitive, prefix `flyer_`) with its defaults. The environment
wins over `.env`. A bad value raises `SettingsError`, whose text is one line naming the
variable, the value and what is allowed.

No `from __future__ import annotations` here: the model's annotations are types already, so
pydantic does not compile and evaluate fifty strings to build it at every start-up.
"""

import ipaddress
import os
import re
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from typing import (
    Any,
    ClassVar,
    Collection,
    Dict,
    FrozenSet,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
    Union,
)

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flyer_status import LANGUAGES
from flyer_status import settings as toolkit

PREFIX = "flyer_"
DEFAULT_ENV_FILE = ".env"

_LOG_LEVELS = {
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
    "critical": "critical",
}
_LOG_FORMATS = ("auto", "console", "json")
# Settings that take one of a few words, any case: the words, and the validator's message.
_CHOICES: Dict[str, Tuple[Collection[str], str]] = {
    "lang": (LANGUAGES, "bad language"),
    "log_format": (_LOG_FORMATS, "bad format"),
}
_BASE_URL = re.compile(r"^(/[A-Za-z0-9._~-]+)*/?$")
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# What each variable accepts, for the one-line error.
_EXPECTED: Dict[str, str] = {
    "host": "an IP address or host name without spaces",
    "port": "an integer 1-65535",
    "base_url": "a URL path like /flyer (letters, digits, . _ ~ - between slashes; "
    "no '.' or '..' segments)",
    "workers": "an integer >= 1",
    "threads": "an integer >= 1",
    "worker_connections": "an integer >= 1",
    "max_requests": "an integer >= 0",
    "max_requests_jitter": "an integer >= 0",
    "timeout": "an integer >= 0 (seconds)",
    "graceful_timeout": "an integer >= 0 (seconds)",
    "keepalive": "an integer >= 0 (seconds)",
    "console_log_level": "one of debug, info, warn, warning, error, critical",
    "file_log_level": "one of debug, info, warn, warning, error, critical",
    "log_format": "one of auto, console, json",
    "log_file_max_bytes": "a size in bytes >= 0 (e.g. 10485760, 512k, 10m)",
    "log_file_backup_count": "an integer >= 0",
    "trusted_proxies": "a comma-separated list of IP addresses or networks (CIDR), or *",
    "status_code_base": "an integer >= 0",
    "lang": "one of en, zh",
    "max_body_size": "a size in bytes >= 0 (e.g. 1048576, 512k, 10m; 0 = no limit)",
    "ready_timeout": "a number of seconds > 0",
    "max_header_size": "a size in bytes >= 1024 (e.g. 65536, 64k)",
    "header_timeout": "a number of seconds > 0",
    "body_timeout": "a number of seconds > 0",
    "auth_user": "a user name without ':' or control characters (HTTP Basic, RFC 7617)",
}
_BOOL = "a boolean (1/0, true/false, yes/no, on/off)"

# Which settings source the current load reads: (.env path, environment mapping).
_LOAD: ContextVar[Optional[Tuple[Optional[str], Mapping[str, str]]]] = ContextVar(
    "flyer_settings_load", default=None
)


class SettingsError(toolkit.SettingsError):
    """A setting has a bad value; `str(err)` is one line naming variable, value and rule."""


def merged_environ(
    env_file: Optional[str] = DEFAULT_ENV_FILE, environ: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """Every variable from `env_file` plus `environ` (default `os.environ`), keys lower-cased.

    The environment wins over the file. A missing file is no error.
    """
    merged: Dict[str, str] = {}
    for key, value in read_env_file(env_file).items():
        merged[key.lower()] = value
    for key, value in (os.environ if environ is None else environ).items():
        merged[key.lower()] = value
    return merged


def read_env_file(env_file: Optional[str]) -> Dict[str, str]:
    """The variables of a `.env` file (keys as written), or nothing when there is no file.

    Read strictly by `flyer_status.settings` (the one `.env` grammar every package uses): a
    line that is not `NAME=value` raises `SettingsError` naming the file and line, never the
    value, where python-dotenv's own reader would skip it (and, say, turn auth off).
    """
    try:
        return toolkit.read_env_file(env_file)
    except toolkit.SettingsError as exc:
        raise SettingsError(str(exc)) from None


def _source_values(
    settings_cls: Type[BaseModel], env_file: Optional[str], environ: Mapping[str, str]
) -> Dict[str, Any]:
    """Each field's `flyer_<field>` from `env_file` + `environ`, and `environ` (every variable)."""
    merged = merged_environ(env_file, environ)
    values: Dict[str, Any] = {}
    for name in settings_cls.model_fields:
        key = PREFIX + name
        if name != "environ" and key in merged:
            values[name] = merged[key]
    values["environ"] = merged
    return values


def _split(text: str) -> List[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_size(value: Any) -> Any:
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError("not a size")
        unit = (match.group(2) or "").lower()[:1]
        return int(match.group(1)) * _SIZE_UNITS[unit]
    return value


class Settings(BaseModel):
    """Every flyer-core setting. Field `port` is variable `flyer_port`, and so on.

    `Settings()` reads `flyer_<field>` (any case) from `.env` (class attribute `env_file`,
    or the `_env_file` keyword; None: no file) and the environment, which wins; keyword
    values win over both. A project subclasses it to change defaults and add fields.

    `environ` holds every variable from `.env` and the environment (keys lower-cased, the
    environment winning); plugins build their own settings from it.
    """

    model_config = ConfigDict(
        extra="ignore", validate_default=True, frozen=True, arbitrary_types_allowed=True
    )

    #: The `.env` file `Settings()` reads (None: none).
    env_file: ClassVar[Optional[str]] = DEFAULT_ENV_FILE

    # Server (FastFlyer's table, same defaults).
    host: str = Field("0.0.0.0", description="Address to bind")
    port: int = Field(8080, ge=1, le=65535, description="Port to bind")
    base_url: str = Field("/flyer", description="URL prefix of every API")
    version: str = Field("v1", description="Service version (shown in the OpenAPI document)")
    reload: bool = Field(False, description="Reload on code change (development)")
    workers: int = Field(1, ge=1, description="Worker processes (gunicorn)")
    threads: int = Field(5, ge=1, description="Threads per worker (gunicorn)")
    worker_connections: int = Field(
        1000, ge=1, description="Concurrent connections per worker before 503"
    )
    enable_max_requests: bool = Field(False, description="Restart workers after max_requests")
    max_requests: int = Field(0, ge=0, description="Requests a worker serves before restarting")
    max_requests_jitter: int = Field(0, ge=0, description="Random extra added to max_requests")
    timeout: int = Field(60, ge=0, description="Seconds of silence before a worker is restarted")
    graceful_timeout: int = Field(
        1, ge=0, description="Seconds to finish in-flight requests and shut plugins down"
    )
    keepalive: int = Field(5, ge=0, description="Seconds to wait for a request on keep-alive")

    # Logging.
    console_log_level: str = Field("info", description="Console log level")
    file_log_level: str = Field("info", description="Log file level")
    access_log: bool = Field(True, description="One log line per request")
    access_logfile: str = Field("-", description="Where access lines go: - (console) or a file")
    access_log_exclude: str = Field(
        "", description="Comma-separated paths whose requests are not access-logged"
    )
    log_format: str = Field("auto", description="console, json, or auto (console on a TTY)")
    log_file: str = Field("", description="Also write logs (JSON lines) to this file")
    log_file_max_bytes: int = Field(
        10 * 1024 * 1024, ge=0, description="Rotate the log file at this size (0: never)"
    )
    log_file_backup_count: int = Field(5, ge=0, description="Rotated log files kept")

    # Docs and auth.
    docs_enabled: bool = Field(True, description="Serve Swagger UI, ReDoc and / redirect")
    openapi_enabled: bool = Field(True, description="Serve openapi.json (docs need it)")
    auth_enable: bool = Field(False, description="HTTP Basic auth on APIs, docs and management")
    auth_user: str = Field("", description="HTTP Basic user name")
    auth_pass: SecretStr = Field(SecretStr(""), description="HTTP Basic password")

    # Requests.
    trusted_proxies: str = Field(
        "", description="Proxies whose X-Forwarded-For is trusted (IPs/CIDRs, comma-separated)"
    )
    status_code_base: int = Field(0, ge=0, description="Added to every non-200 body code")
    lang: str = Field("en", description="Language of flyer's envelope messages: en or zh")
    lang_negotiate: bool = Field(
        False, description="Answer in the language a request's Accept-Language prefers"
    )
    cors_origins: str = Field("", description="CORS allowed origins, comma-separated (off)")
    cors_allow_credentials: bool = Field(False, description="CORS: allow credentials")
    cors_allow_methods: str = Field("*", description="CORS: allowed methods, comma-separated")
    cors_allow_headers: str = Field("*", description="CORS: allowed headers, comma-separated")
    fast_routes: bool = Field(
        True, description="Serve ordinary routes through compiled handlers (same answers)"
    )
    max_body_size: int = Field(
        10 * 1024 * 1024, ge=0, description="Largest request body in bytes (0: no limit)"
    )
    ready_timeout: float = Field(5.0, gt=0, description="Deadline of the readiness checks")

    # The served edge (flyer's runners): limits a hostile client meets before any app code.
    max_header_size: int = Field(
        64 * 1024, ge=1024, description="Largest request line + headers in bytes (431 beyond)"
    )
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds for a request's headers to arrive (408, then closed)"
    )
    body_timeout: float = Field(
        60.0, gt=0, description="Seconds for a request's body to arrive once its headers have"
    )
    management_open_without_auth: bool = Field(
        False, description="Serve plugins' management routes (/tasks) with auth off (unsafe)"
    )

    environ: Dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    def __init__(self, **values: Any) -> None:
        load = _LOAD.get()
        if "_env_file" in values:  # pydantic-settings' keyword, kept
            env_file = values.pop("_env_file")
            load = (None if env_file is None else str(env_file), os.environ)
        elif load is None:
            load = (self._env_file_of(), os.environ)
        data = _source_values(type(self), *load)
        data.update(values)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise SettingsError(describe_validation_error(exc, type(self))) from None

    @classmethod
    def _env_file_of(cls) -> Optional[str]:
        # A subclass may still name it the pydantic-settings way, in `model_config`.
        config: Mapping[str, Any] = cls.model_config
        env_file = config.get("env_file", cls.env_file)
        return str(env_file) if isinstance(env_file, (str, os.PathLike)) else None

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() for c in value):
            raise ValueError("bad host")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip()
        if value and not _BASE_URL.match(value):
            raise ValueError("bad base_url")
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError("dot segment in base_url")
        return value.rstrip("/")

    @field_validator("auth_user")
    @classmethod
    def _check_auth_user(cls, value: str) -> str:
        # RFC 7617: the user-id ends at the first ':'; neither part holds control characters.
        if ":" in value or any(unicodedata.category(c) == "Cc" for c in value):
            raise ValueError("bad auth_user")
        return value

    @field_validator("console_log_level", "file_log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        try:
            return _LOG_LEVELS[value.strip().lower()]
        except KeyError:
            raise ValueError("bad level") from None

    @field_validator(*_CHOICES)
    @classmethod
    def _check_choice(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().lower()
        choices, bad = _CHOICES[str(info.field_name)]
        if value not in choices:
            raise ValueError(bad)
        return value

    @field_validator("log_file_max_bytes", "max_body_size", "max_header_size", mode="before")
    @classmethod
    def _check_size(cls, value: Any) -> Any:
        return _parse_size(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        for part in _split(value):
            if part != "*":
                ipaddress.ip_network(part, strict=False)  # ValueError on junk
        return value.strip()

    @model_validator(mode="after")
    def _check_auth(self) -> "Settings":
        if self.auth_enable and not (self.auth_user and self.auth_pass.get_secret_value()):
            raise ValueError(
                "flyer_auth_enable=1: set both flyer_auth_user and flyer_auth_pass "
                "(with auth on and no credentials every request would be refused)"
            )
        return self

    # Parsed views of the comma-separated settings.

    @property
    def access_log_excluded(self) -> FrozenSet[str]:
        """Paths whose requests get no access log line."""
        return frozenset(_split(self.access_log_exclude))

    @property
    def cors_origin_list(self) -> List[str]:
        return _split(self.cors_origins)

    @property
    def trusted_proxy_networks(self) -> Tuple[Network, ...]:
        """The trusted proxies as networks; `*` trusts every address."""
        parts = _split(self.trusted_proxies)
        if "*" in parts:
            return (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)


def _hides_value(annotation: Any) -> bool:
    """Whether a field's value must never be shown: a secret, or a URL (it may hold a password)."""
    if isinstance(annotation, type) and issubclass(annotation, (SecretStr, SecretBytes)):
        return True
    if isinstance(annotation, type) and annotation.__module__.startswith(
        ("pydantic.networks", "pydantic_core")
    ):
        return True  # AnyUrl, PostgresDsn, RedisDsn...: `scheme://user:password@host`
    return any(_hides_value(arg) for arg in getattr(annotation, "__args__", None) or ())


def hidden_fields(settings_cls: Type[BaseModel]) -> FrozenSet[str]:
    """The fields of `settings_cls` whose values errors, reports and logs never show."""
    return frozenset(
        name for name, field in settings_cls.model_fields.items() if _hides_value(field.annotation)
    )


SECRET_FIELDS = hidden_fields(Settings)


def describe_validation_error(
    exc: ValidationError, settings_cls: Optional[Type[BaseModel]] = None
) -> str:
    """A pydantic error on Settings as one line: `flyer_port='abc': expected an integer 1-65535`.

    A secret's or a URL's value is never shown, only the variable and what is allowed.
    """
    settings_cls = Settings if settings_cls is None else settings_cls
    hidden = hidden_fields(settings_cls)
    parts: List[str] = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        message = str(error.get("msg", "invalid"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if not loc:
            parts.append(message)
            continue
        name = str(loc[0])
        shown = "'********'" if name in hidden else repr(error.get("input"))
        field = settings_cls.model_fields.get(name)
        expected = _EXPECTED.get(name)
        if expected is None and field is not None and field.annotation is bool:
            expected = _BOOL
        # pydantic's own message ("Input should be ...") reads as-is, lower-cased.
        said = f"expected {expected}" if expected is not None else message[:1].lower() + message[1:]
        parts.append(f"{PREFIX}{name}={shown}: {said}")
    return "; ".join(parts)


@contextmanager
def _loading(env_file: Optional[str], environ: Optional[Mapping[str, str]]) -> Iterator[None]:
    token = _LOAD.set((env_file, os.environ if environ is None else environ))
    try:
        yield
    finally:
        _LOAD.reset(token)


def load_settings(
    env_file: Optional[str] = DEFAULT_ENV_FILE,
    environ: Optional[Mapping[str, str]] = None,
    **overrides: Any,
) -> Settings:
    """Settings from `env_file` (default `.env`; None: no file) and `environ` (default
    `os.environ`), the environment winning; keyword `overrides` win over both.

    Raises `SettingsError` (one line) on a bad value.
    """
    with _loading(env_file, environ):
        return Settings(**overrides)
