"""The one `.env` grammar of flyer, read strictly: python-dotenv's syntax, no lenient skipping.

`NAME=value` lines, an optional `export `, values bare (a ` #` starts a comment), in single
quotes (`\\'` and `\\\\` escapes) or in double quotes (`\\n`, `\\t`, `\\"`... escapes; may span
lines), `${NAME}` / `${NAME:-default}` expanded from earlier lines, then the environment.
A line that is none of these raises `SettingsError` naming the file and line, never the value.
"""

from __future__ import annotations

import codecs
import os
import re
from typing import Dict, List, Mapping, Optional, Tuple

from flyer_status._errors import SettingsError

_BLANK = re.compile(r"\s*", re.MULTILINE)
_SPACE = re.compile(r"[^\S\r\n]*")
_EXPORT = re.compile(r"(?:export[^\S\r\n]+)?")
_QUOTED_KEY = re.compile(r"'([^']+)'")
_KEY = re.compile(r"([^=#\s]+)")
_EQUALS = re.compile(r"=([^\S\r\n]*)")
_SINGLE = re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL)
_DOUBLE = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)
_BARE = re.compile(r"([^\r\n]*)")
_COMMENT = re.compile(r"(?:[^\S\r\n]*#[^\r\n]*)?")
_END = re.compile(r"[^\S\r\n]*(?:\r\n|\n|\r|$)")
_REST = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SINGLE_ESCAPES = re.compile(r"\\[\\']")
_VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")
_NAME_AT = re.compile(r"[^\S\r\n]*(?:export[^\S\r\n]+)?([A-Za-z_][A-Za-z0-9_.-]*)[^\S\r\n]*=")


class _Unparsable(Exception):
    pass


def _unescape(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), text)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.pos = 0

    def line(self, pos: int) -> int:
        return len(re.findall(r"\r\n|\n|\r", self.text[:pos])) + 1

    def match(self, pattern: re.Pattern[str]) -> Tuple[str, ...]:
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise _Unparsable
        self.pos = found.end()
        return found.groups() or (found.group(0),)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def binding(self) -> Optional[Tuple[str, Optional[str]]]:
        """The next `(name, value)`; value None for a bare `NAME`; None for a comment line."""
        self.match(_EXPORT)
        if self.peek() == "#":
            key: Optional[str] = None
        elif self.peek() == "'":
            (key,) = self.match(_QUOTED_KEY)
        else:
            (key,) = self.match(_KEY)
        self.match(_SPACE)
        value: Optional[str] = None
        if self.peek() == "=":
            (space,) = self.match(_EQUALS)
            # `NAME= # comment` is empty; `NAME=#x` is the value `#x`.
            value = "" if space and self.peek() == "#" else self._value()
        self.match(_COMMENT)
        self.match(_END)
        return None if key is None else (key, value)

    def _value(self) -> str:
        char = self.peek()
        if char == "'":
            return _unescape(_SINGLE_ESCAPES, self.match(_SINGLE)[0])
        if char == '"':
            return _unescape(_DOUBLE_ESCAPES, self.match(_DOUBLE)[0])
        if char in ("", "\n", "\r"):
            return ""
        return re.sub(r"\s+#.*", "", self.match(_BARE)[0]).rstrip()


def parse_env(text: str, source: str = ".env") -> List[Tuple[str, Optional[str]]]:
    """The `(name, raw value)` pairs of `.env` text, in order; a bare `NAME` has value None.

    Raises `SettingsError` at the first line that cannot be parsed, naming `source` and the
    line (and the variable when it can be told), never the value: it may be a secret.
    """
    reader = _Reader(text)
    pairs: List[Tuple[str, Optional[str]]] = []
    while True:
        reader.match(_BLANK)
        if reader.pos >= len(reader.text):
            return pairs
        start = reader.pos
        try:
            pair = reader.binding()
        except _Unparsable:
            name = _NAME_AT.match(reader.text, start)
            what = f"{name.group(1)}: " if name else ""
            raise SettingsError(
                f"{source}, line {reader.line(start)}: {what}cannot be parsed: "
                "expected NAME=value, quotes closed (value not shown)"
            ) from None
        if pair is not None:
            pairs.append(pair)


def expand(
    pairs: List[Tuple[str, Optional[str]]], environ: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """Expand `${NAME}` and `${NAME:-default}`: earlier lines first, then `environ`.

    As python-dotenv's `dotenv_values` does; a bare `NAME` (no `=`) is left out.
    """
    values: Dict[str, str] = {}
    for name, raw in pairs:
        if raw is None:
            continue
        scope: Dict[str, str] = dict(os.environ if environ is None else environ)
        scope.update(values)

        def resolve(match: re.Match[str], scope: Mapping[str, str] = scope) -> str:
            return scope.get(match.group("name"), match.group("default") or "")

        values[name] = _VARIABLE.sub(resolve, raw)
    return values


def read_env_file(
    env_file: Optional[str], environ: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """The variables of a `.env` file (names as written), or nothing when there is no file.

    Strict: an unparsable line, or a file that cannot be read as UTF-8, is a `SettingsError`.
    """
    if not env_file or not os.path.isfile(env_file):
        return {}
    try:
        with open(env_file, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{env_file}: cannot be read: {type(exc).__name__}") from None
    return expand(parse_env(text, str(env_file)), environ)
