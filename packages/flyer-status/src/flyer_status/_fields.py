"""One reader of the environment and one set of field rules for every flyer package.

A package owns its variables and reads them through `environment()`: the same values, and the
same rules, whether the package runs inside an app or alone.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from typing import (
    Collection,
    Dict,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from flyer_status._dotenv import read_env_file
from flyer_status._errors import SettingsError

T = TypeVar("T")

DEFAULT_ENV_FILE = ".env"
BOOLEAN = "a boolean (1/0, true/false, yes/no, on/off)"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# ASCII digits, optionally signed and grouped by single underscores: what pydantic (and so
# flyer-core's settings) accepts, never other scripts' digits that `int()` would take.
_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")
_MASK = "********"


class Secret:
    """A secret string: `repr`, `str` and formatting show `********`; `get_secret_value()`
    gives the text. Equal to another `Secret` with the same text, and false when empty."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK if self._value else ''!r})"

    def __str__(self) -> str:
        return _MASK if self._value else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)


def _fail(name: str, raw: str, expected: str, *, secret: bool = False) -> SettingsError:
    shown = "" if secret else f"={raw!r}"
    return SettingsError(f"{name}{shown}: expected {expected}")


def parse_integer(
    name: str, raw: str, minimum: Optional[int] = None, maximum: Optional[int] = None
) -> int:
    """`raw` as an integer within `minimum`..`maximum` (either may be None)."""
    if minimum is not None and maximum is not None:
        expected = f"an integer {minimum}-{maximum}"
    elif minimum is not None:
        expected = f"an integer >= {minimum}"
    elif maximum is not None:
        expected = f"an integer <= {maximum}"
    else:
        expected = "an integer"
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise _fail(name, raw, expected)
    value = int(text)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(name, raw, expected)
    return value


def parse_port(name: str, raw: str) -> int:
    """`raw` as a TCP port: an integer 1-65535."""
    return parse_integer(name, raw, 1, 65535)


def parse_number(
    name: str, raw: str, minimum: float = 0.0, *, exclusive: bool = False, what: str = "a number"
) -> float:
    """`raw` as a finite number >= `minimum` (> with `exclusive`); `what` names it in errors."""
    expected = f"{what} {'>' if exclusive else '>='} {minimum:g}"
    try:
        value = float(raw.strip())
    except ValueError:
        raise _fail(name, raw, expected) from None
    if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
        raise _fail(name, raw, expected)
    return value


def parse_seconds(name: str, raw: str, *, positive: bool = True) -> float:
    """`raw` as a finite number of seconds, > 0 (`positive`) or >= 0."""
    return parse_number(name, raw, 0.0, exclusive=positive, what="a number of seconds")


def parse_boolean(name: str, raw: str) -> bool:
    """`raw` as a boolean: 1/0, true/false, yes/no, on/off (any case)."""
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _fail(name, raw, BOOLEAN)


def parse_choice(name: str, raw: str, allowed: Sequence[str]) -> str:
    """`raw`, stripped and lower-cased, when it is one of `allowed`."""
    text = raw.strip().lower()
    if text not in allowed:
        raise _fail(name, raw, f"one of {', '.join(allowed)}")
    return text


def parse_names(raw: str, separators: str = ",") -> Tuple[str, ...]:
    """`"a, b,,c"` -> `("a", "b", "c")`: split on any of `separators`, blanks dropped."""
    pattern = "[" + re.escape(separators) + "]"
    return tuple(part.strip() for part in re.split(pattern, raw) if part.strip())


def redact_url(url: str, *, schemes: Optional[Collection[str]] = None) -> str:
    """`url` with its password (in the user part or a `*password*` query option) as `***`.

    Text that is not `scheme://...`, or with an `@` where a parser would not look for
    credentials (`redis:/:secret@host`), shows as `scheme:***` (or `***`): it may hold one.
    Given `schemes` (lower-case), a scheme outside them is not shown there either.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "***"
    scheme = parts.scheme
    if not scheme or not url[len(scheme) :].startswith("://"):
        known = scheme and (schemes is None or scheme.lower() in schemes)
        return f"{scheme}:***" if known else "***"
    if "@" in parts.path + parts.fragment:
        return f"{scheme}:***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any("password" in key.lower() for key, _ in query):
        hidden = [(k, "***" if "password" in k.lower() else v) for k, v in query]
        return urllib.parse.urlunsplit(
            (scheme, netloc, parts.path, urllib.parse.urlencode(hidden, safe="*"), "")
        )
    return urllib.parse.urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def parse_url(name: str, raw: str, schemes: Sequence[str]) -> str:
    """`raw`, stripped, when it is `scheme://...` with a scheme in `schemes` (any case).

    The error shows the URL redacted (`redact_url`): a URL may carry a password.
    """
    text = raw.strip()
    expected = "a URL starting with " + ", ".join(f"{s}://" for s in schemes)
    try:
        scheme = urllib.parse.urlsplit(text).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in {s.lower() for s in schemes} or not text[len(scheme) :].startswith("://"):
        raise SettingsError(f"{name}={redact_url(text)!r}: expected {expected}")
    return text


def default_text(value: object) -> str:
    """A field's default as `flyer config` shows it: `5`, `0.5`, `1`/`0`, `a,b`, or empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list, frozenset)):
        return ",".join(str(item) for item in value)
    return str(value)  # a Secret shows masked


class Environment(Mapping[str, str]):
    """Variables by lower-cased name, with typed readers that apply flyer's field rules.

    Every reader takes the variable's full name and a default; an unset or blank variable
    gives the default, a bad value raises `SettingsError` (one line).
    """

    def __init__(self, variables: Mapping[str, str]) -> None:
        self._values: Dict[str, str] = {str(k).lower(): str(v) for k, v in variables.items()}

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Environment({len(self._values)} variables)"

    def raw(self, name: str) -> Optional[str]:
        """The variable's text, or None when it is unset or blank."""
        value = self._values.get(name.lower())
        return value if value is not None and value.strip() else None

    def text(self, name: str, default: T) -> Union[str, T]:
        """The variable's text, stripped; `default` when unset or blank."""
        raw = self.raw(name)
        return default if raw is None else raw.strip()

    def secret(self, name: str) -> Optional[Secret]:
        """The variable as a `Secret` (as written), or None when unset or empty."""
        value = self._values.get(name.lower())
        return Secret(value) if value else None

    def integer(
        self, name: str, default: T, minimum: Optional[int] = None, maximum: Optional[int] = None
    ) -> Union[int, T]:
        raw = self.raw(name)
        return default if raw is None else parse_integer(name, raw, minimum, maximum)

    def port(self, name: str, default: T) -> Union[int, T]:
        raw = self.raw(name)
        return default if raw is None else parse_port(name, raw)

    def number(
        self,
        name: str,
        default: T,
        minimum: float = 0.0,
        *,
        exclusive: bool = False,
        what: str = "a number",
    ) -> Union[float, T]:
        raw = self.raw(name)
        if raw is None:
            return default
        return parse_number(name, raw, minimum, exclusive=exclusive, what=what)

    def seconds(self, name: str, default: T, *, positive: bool = True) -> Union[float, T]:
        raw = self.raw(name)
        return default if raw is None else parse_seconds(name, raw, positive=positive)

    def boolean(self, name: str, default: T) -> Union[bool, T]:
        raw = self.raw(name)
        return default if raw is None else parse_boolean(name, raw)

    def choice(self, name: str, default: T, allowed: Sequence[str]) -> Union[str, T]:
        raw = self.raw(name)
        return default if raw is None else parse_choice(name, raw, allowed)

    def names(self, name: str, separators: str = ",") -> Tuple[str, ...]:
        raw = self.raw(name)
        return () if raw is None else parse_names(raw, separators)

    def url(self, name: str, schemes: Sequence[str]) -> Optional[str]:
        raw = self.raw(name)
        return None if raw is None else parse_url(name, raw, schemes)

    def has_any(self, names: Iterable[str]) -> bool:
        """Whether any of `names` is set to a non-blank value."""
        return any(self.raw(name) is not None for name in names)


def environment(
    environ: Optional[Mapping[str, str]] = None, env_file: Optional[str] = DEFAULT_ENV_FILE
) -> Environment:
    """The variables a flyer package reads, names lower-cased.

    With `environ` None: the process environment over `env_file` (default `./.env`, read
    strictly now, not at import; None: no file), so a package alone reads what an app would.
    A given `environ` is taken as complete (an app's merged variables, a test's dict).
    """
    if environ is not None:
        return Environment(environ)
    merged = {key.lower(): value for key, value in read_env_file(env_file).items()}
    merged.update({key.lower(): value for key, value in os.environ.items()})
    return Environment(merged)
