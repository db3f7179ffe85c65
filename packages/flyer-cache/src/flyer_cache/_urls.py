"""Redis URLs: the schemes flyer takes, redaction for display, and sentinel URL parsing."""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from flyer_status import settings

#: URL schemes `from_url` understands.
URL_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
#: Port of a sentinel named without one.
SENTINEL_PORT = 26379

_SCHEME_LIST = ", ".join(f"{s}://" for s in URL_SCHEMES)


def _parsers() -> Mapping[str, Callable[[str], Any]]:
    """redis-py's parsers of URL options, imported only when a URL has options to check."""
    from redis.connection import URL_QUERY_ARGUMENT_PARSERS

    parsers: Mapping[str, Callable[[str], Any]] = URL_QUERY_ARGUMENT_PARSERS  # type: ignore[assignment]
    return parsers


def url_scheme(name: str, url: str) -> str:
    """The lower-cased scheme of `url`, or a one-line `ValueError` when flyer cannot use it.

    The error shows the URL redacted (`***` in place of anything that may be a password).
    """
    if not isinstance(url, str):
        raise TypeError(f"{name}: expected a URL string, got {type(url).__name__}")
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in URL_SCHEMES:
        raise ValueError(f"{name}={redact_url(url)!r}: expected a URL starting with {_SCHEME_LIST}")
    return scheme


_SHAPES = {
    "redis": "redis://[[user]:password@]host[:port][/db]",
    "rediss": "rediss://[[user]:password@]host[:port][/db]",
    "unix": "unix://[[user]:password@]/path/to/socket[?db=n]",
}


def check_url(name: str, url: str) -> str:
    """Check that `url` is a Redis URL flyer can connect with; return its scheme.

    A malformed URL is one `ValueError` line naming `name` and the expected shape; the URL
    shows redacted, never with a password, whatever the mistake.
    """
    scheme = url_scheme(name, url)
    shown = redact_url(url)
    if scheme in SENTINEL_SCHEMES:
        try:
            SentinelURL.parse(url)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("url="):
                message = name + message[len("url") :]
            raise ValueError(message) from None
        return scheme
    parts = urllib.parse.urlsplit(url)
    problem = not url[len(scheme) :].startswith("://")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not 0-65535
    except ValueError:
        problem = True
    if scheme == "unix":
        problem = problem or not parts.path
    else:
        db = parts.path.strip("/")
        problem = problem or not parts.hostname or not (db == "" or db.isdigit())
    if not problem:
        for key, value in urllib.parse.parse_qsl(parts.query):
            parser = _parsers().get(key)
            try:
                if parser is not None:
                    parser(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name}={shown!r}: option {key!r} has a value that is not valid"
                ) from None
    if problem:
        raise ValueError(f"{name}={shown!r}: expected {_SHAPES[scheme]}")
    return scheme


def redact_url(url: str) -> str:
    """`url` with its password (userinfo or a `*password` query option) shown as `***`.

    Text that is not a URL flyer takes, or whose password could sit where the parser does
    not look for one (`redis:/:secret@host`, one slash), shows as `***` after the scheme.
    """
    return settings.redact_url(url, schemes=URL_SCHEMES)


@dataclasses.dataclass(frozen=True)
class SentinelURL:
    """What a `redis+sentinel://` URL says: which sentinels, which service, how to connect.

    `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?options]`.
    The credentials are the master's; `sentinel_username` / `sentinel_password` options
    authenticate to the sentinels themselves; `min_other_sentinels` is passed to redis-py.
    Other options (`socket_timeout`, `health_check_interval`, ...) are those of `redis://`
    URLs and apply to the master's connections. `rediss+sentinel://` uses TLS to the master.
    """

    sentinels: List[Tuple[str, int]]
    service_name: str
    db: int = 0
    username: Optional[str] = dataclasses.field(default=None, repr=False)
    password: Optional[str] = dataclasses.field(default=None, repr=False)
    ssl: bool = False
    sentinel_kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    connection_kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    min_other_sentinels: int = 0

    @classmethod
    def parse(cls, url: str) -> SentinelURL:
        """Parse a sentinel URL; a one-line `ValueError` names what is wrong."""
        shown = redact_url(url)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in SENTINEL_SCHEMES:
            raise ValueError(f"url={shown!r}: expected redis+sentinel:// or rediss+sentinel://")
        userinfo, _, hostlist = parts.netloc.rpartition("@")
        username = password = None
        if userinfo:
            user, _, secret = userinfo.partition(":")
            username = urllib.parse.unquote(user) or None
            password = urllib.parse.unquote(secret) or None
        sentinels = [_host_port(shown, item) for item in hostlist.split(",") if item]
        if not sentinels:
            raise ValueError(f"url={shown!r}: expected at least one sentinel host[:port]")
        path = [urllib.parse.unquote(p) for p in parts.path.split("/") if p]
        if not path or len(path) > 2:
            raise ValueError(f"url={shown!r}: expected the path /service_name or /service_name/db")
        db = 0
        if len(path) == 2:
            try:
                db = int(path[1])
            except ValueError:
                raise ValueError(
                    f"url={shown!r}: database {path[1]!r} is not an integer >= 0"
                ) from None
            if db < 0:
                raise ValueError(f"url={shown!r}: database {path[1]!r} is not an integer >= 0")
        sentinel_kwargs: Dict[str, Any] = {}
        connection_kwargs: Dict[str, Any] = {}
        min_other = 0
        for key, value in urllib.parse.parse_qsl(parts.query):
            if key == "sentinel_password":
                sentinel_kwargs["password"] = value
            elif key == "sentinel_username":
                sentinel_kwargs["username"] = value
            elif key == "min_other_sentinels":
                min_other = _query_int(shown, key, value)
            elif key == "db":
                db = _query_int(shown, key, value)
            else:
                parser = _parsers().get(key)
                try:
                    connection_kwargs[key] = parser(value) if parser else value
                except (TypeError, ValueError):
                    raise ValueError(f"url={shown!r}: option {key}={value!r} is invalid") from None
        return cls(
            sentinels=sentinels,
            service_name=path[0],
            db=db,
            username=username,
            password=password,
            ssl=parts.scheme.lower() == "rediss+sentinel",
            sentinel_kwargs=sentinel_kwargs,
            connection_kwargs=connection_kwargs,
            min_other_sentinels=min_other,
        )


def _query_int(shown: str, key: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(f"url={shown!r}: option {key}={value!r} is not an integer >= 0")
    return number


def _host_port(shown: str, item: str) -> Tuple[str, int]:
    parsed = urllib.parse.urlsplit(f"//{item}")
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if not parsed.hostname or port == -1:
        raise ValueError(f"url={shown!r}: sentinel {item!r} is not host[:port] with port 1-65535")
    return parsed.hostname, port or SENTINEL_PORT
