"""flyer-mq's settings, read from `flyer_mq_*` variables (the environment by default)."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote

SCHEMES = {
    "kafka": "kafka",
    "amqp": "rabbit",
    "amqps": "rabbit",
    "nats": "nats",
    "tls": "nats",
    "redis": "redis",
    "rediss": "redis",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
}
DEFAULT_PORTS = {"kafka": 9092, "rabbit": 5672, "nats": 4222, "redis": 6379, "mqtt": 1883}
_FIELDS: Tuple[Tuple[str, str, bool, str], ...] = (
    # (field, default as text, secret, help)
    (
        "url",
        "",
        True,
        "the broker: kafka://, amqp://, nats://, redis:// or mqtt:// (credentials in it are "
        "secret); empty: no broker, the app starts without one",
    ),
    (
        "group",
        "flyer",
        False,
        "consumer group / queue group every worker of the service shares (Kafka: one group "
        "per topic, <group>.<topic>)",
    ),
    ("retries", "3", False, "tries of a handler that raises before its message is dead-lettered"),
    ("dead_letter_suffix", ".dlq", False, "dead-letter destination: the destination + this"),
    ("publish_timeout", "10", False, "seconds a publish may wait for the broker's confirmation"),
    (
        "idempotency_url",
        "",
        True,
        "Redis remembering handled message ids for subscribers declared idempotent=True "
        "(empty: flyer_mq_url when it is redis://)",
    ),
    ("idempotency_ttl", "86400", False, "seconds a handled message id is remembered"),
)
# Patterns, compiled (and cached by `re`) when a variable is first checked, not at import.
_GROUP = r"^[A-Za-z0-9_-]{1,64}$"
_SUFFIX = r"^[A-Za-z0-9_.-]{1,32}$"


@dataclasses.dataclass(frozen=True)
class BrokerURL:
    """A parsed `flyer_mq_url`: `kind` is kafka, rabbit, nats, redis or mqtt."""

    kind: str
    scheme: str
    hosts: Tuple[Tuple[str, int], ...]
    username: Optional[str] = dataclasses.field(default=None, repr=False)
    password: Optional[str] = dataclasses.field(default=None, repr=False)
    path: str = ""
    raw: str = dataclasses.field(default="", repr=False)

    @property
    def redacted(self) -> str:
        """The URL with its password replaced by `***`."""
        return redact(self.raw)

    @property
    def servers(self) -> List[str]:
        return [f"{host}:{port}" for host, port in self.hosts]


@dataclasses.dataclass(frozen=True)
class MQSettings:
    """What `MQSettings.from_env()` reads from `flyer_mq_*`; unset ones keep these defaults."""

    url: Optional[BrokerURL] = None
    group: str = "flyer"
    retries: int = 3
    dead_letter_suffix: str = ".dlq"
    publish_timeout: float = 10.0
    idempotency_url: Optional[BrokerURL] = None
    idempotency_ttl: int = 86400

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> MQSettings:
        """Settings from `flyer_mq_*` variables (case-insensitive).

        Raises `ValueError` with one line naming the variable, its value (a URL's password
        hidden) and what is allowed.
        """
        source = os.environ if environ is None else environ
        values = {key.lower(): value for key, value in source.items()}
        found: Dict[str, Any] = {}
        for field, _, _, _ in _FIELDS:
            variable = f"flyer_mq_{field}"
            if variable in values:
                found[field] = _parse(variable, field, values[variable])
        return cls(**found)


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `MQSettings.from_env` reads, as `flyer config` lists them."""
    return [
        {"name": f"flyer_mq_{field}", "default": default, "secret": secret, "help": text}
        for field, default, secret, text in _FIELDS
    ]


def redact(url: str) -> str:
    """`scheme://user:secret@host` -> `scheme://user:***@host` (no password: unchanged)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*):[^@/]*@", r"\1:***@", url.strip())


def parse_url(raw: str, variable: str = "flyer_mq_url") -> Optional[BrokerURL]:
    """Parse a broker URL; `None` when empty. Raises `ValueError` (one line, password hidden)."""
    text = raw.strip()
    if not text:
        return None
    shown = redact(text)
    allowed = "expected kafka://, amqp://, nats://, redis:// or mqtt:// with host[:port]"
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text, re.S)
    if match is None or match.group(1).lower() not in SCHEMES:
        raise ValueError(f"{variable}={shown!r}: {allowed}")
    scheme = match.group(1).lower()
    kind = SCHEMES[scheme]
    rest = match.group(2)
    netloc, _, path = rest.partition("/")
    path = path.split("?", 1)[0].split("#", 1)[0]
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    hosts: List[Tuple[str, int]] = []
    for part in netloc.split(","):
        part = part.strip()
        host, port_text = part, ""
        if part.startswith("["):
            host, _, tail = part[1:].partition("]")
            port_text = tail[1:] if tail.startswith(":") else ""
        elif part.count(":") == 1:
            host, _, port_text = part.partition(":")
        if not host or not re.match(r"^[A-Za-z0-9_.:-]+$", host):
            raise ValueError(f"{variable}={shown!r}: {allowed}")
        port = DEFAULT_PORTS[kind]
        if port_text:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ValueError(f"{variable}={shown!r}: the port must be an integer 1-65535")
            port = int(port_text)
        hosts.append((host, port))
    if kind in ("rabbit", "redis", "mqtt") and len(hosts) != 1:
        raise ValueError(f"{variable}={shown!r}: {scheme}:// takes exactly one host")
    if kind == "mqtt" and path:
        raise ValueError(f"{variable}={shown!r}: an mqtt:// URL has no path")
    if kind == "redis" and path and not path.isdigit():
        raise ValueError(f"{variable}={shown!r}: the path of a redis:// URL is a database number")
    return BrokerURL(kind, scheme, tuple(hosts), username, password, path, text)


def _parse(variable: str, field: str, raw: str) -> Any:
    text = raw.strip()
    if field == "url":
        return parse_url(raw, variable)
    if field == "group":
        if not re.match(_GROUP, text):
            raise ValueError(f"{variable}={raw!r}: expected 1-64 letters, digits, '_' or '-'")
        return text
    if field == "dead_letter_suffix":
        if not re.match(_SUFFIX, text):
            raise ValueError(f"{variable}={raw!r}: expected 1-32 letters, digits, '_', '.' or '-'")
        return text
    if field == "idempotency_url":
        parsed = parse_url(raw, variable)
        if parsed is not None and parsed.kind != "redis":
            raise ValueError(f"{variable}={parsed.redacted!r}: expected a redis:// URL")
        return parsed
    if field == "idempotency_ttl":
        if not text.isdigit() or not 1 <= int(text) <= 31_536_000:
            raise ValueError(f"{variable}={raw!r}: expected an integer 1-31536000 (seconds)")
        return int(text)
    if field == "retries":
        if not text.isdigit() or not 1 <= int(text) <= 100:
            raise ValueError(f"{variable}={raw!r}: expected an integer 1-100")
        return int(text)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ValueError(f"{variable}={raw!r}: expected a number of seconds, 0 < s <= 3600")
    return value
