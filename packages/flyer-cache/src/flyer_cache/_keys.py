"""Cache keys: the same call gives the same key in every process, on every Python.

A key is `namespace:module.qualname:digest`, the digest a SHA-256 of a canonical text of the
call's arguments (bound to the signature, defaults filled in, so `f(1)` and `f(x=1)` agree).
No `hash()` (salted per process for str), no `id()`, no default `repr` (memory addresses).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import inspect
import pathlib
import re
import string
import uuid
from typing import Any, Callable, List, Optional, Union

KeySpec = Union[str, Callable[..., str], None]

_ROOT = re.compile(r"[.\[]")
#: Types whose `str()` is their value: dates, times, durations, decimals, UUIDs, paths.
_STR_TYPES = (
    datetime.date,
    datetime.time,
    datetime.timedelta,
    decimal.Decimal,
    uuid.UUID,
    pathlib.PurePath,
)


def _name(obj: Any) -> str:
    kind = obj if isinstance(obj, type) else type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def canonical(value: Any, parts: List[str]) -> None:
    """Append to `parts` a text for `value` that is equal exactly when the values are equal.

    Types are part of the text (1, 1.0, True, "1", (1,) and [1] all differ). Objects other
    than the built-in data types need a `__repr__` of their own (so the text does not carry
    a memory address), or must be dataclasses, pydantic models or enums.
    """
    if value is None:
        parts.append("N")
    elif isinstance(value, bool):
        parts.append("T" if value else "F")
    elif isinstance(value, enum.Enum):
        parts.append(f"E{_name(value)}.{value.name};")
    elif type(value) is int:
        parts.append(f"i{value};")
    elif type(value) is float:
        parts.append(f"f{value!r};")
    elif type(value) is str:
        parts.append(f"s{len(value)}:{value}")
    elif isinstance(value, (bytes, bytearray)):
        parts.append(f"b{len(value)}:{bytes(value).hex()}")
    elif isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        parts.append(f"{'l' if type(value) is list else 't'}{len(value)}[")
        for item in value:
            canonical(item, parts)
        parts.append("]")
    elif isinstance(value, dict) and type(value) is dict:
        items = []
        for key, item in value.items():
            key_parts: List[str] = []
            canonical(key, key_parts)
            item_parts: List[str] = []
            canonical(item, item_parts)
            items.append(("".join(key_parts), "".join(item_parts)))
        parts.append(f"d{len(items)}{{")
        parts.extend(k + v for k, v in sorted(items))
        parts.append("}")
    elif isinstance(value, (set, frozenset)) and type(value) in (set, frozenset):
        members = []
        for item in value:
            member: List[str] = []
            canonical(item, member)
            members.append("".join(member))
        parts.append(f"S{len(members)}{{")
        parts.extend(sorted(members))
        parts.append("}")
    elif isinstance(value, _STR_TYPES):
        parts.append(f"o{_name(value)}:{value!s};")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts.append(f"D{_name(value)}{{")
        for field in dataclasses.fields(value):
            parts.append(f"{field.name}=")
            canonical(getattr(value, field.name), parts)
        parts.append("}")
    elif callable(getattr(value, "model_dump", None)) and not isinstance(value, type):
        parts.append(f"M{_name(value)}")
        canonical(value.model_dump(mode="json"), parts)
    elif isinstance(value, type):
        parts.append(f"C{_name(value)};")
    elif any("__repr__" in vars(kind) for kind in type(value).__mro__[:-1]):
        text = repr(value)
        parts.append(f"r{_name(value)}:{len(text)}:{text}")
    else:
        raise TypeError(
            f"an argument of type {_name(value)} has no stable cache key: give the type a "
            "__repr__ that identifies its value, or pass cached(key=...)"
        )


class KeyBuilder:
    """Builds the cache key of one decorated function's calls."""

    def __init__(self, func: Callable[..., Any], key: KeySpec, namespace: str) -> None:
        if not isinstance(namespace, str):
            raise TypeError(f"namespace={namespace!r}: expected a str")
        self.function = f"{func.__module__}.{func.__qualname__}"
        self.signature = inspect.signature(func)
        self.namespace = namespace
        self.prefix = f"{namespace}:" if namespace else ""
        self.template: Optional[str] = None
        self.key_func: Optional[Callable[..., str]] = None
        if isinstance(key, str):
            self._check_template(key)
            self.template = key
        elif callable(key):
            self.key_func = key
        elif key is not None:
            raise TypeError(
                f"key={key!r}: expected a template such as 'user:{{user_id}}', a function "
                "returning a str, or None"
            )

    def _check_template(self, template: str) -> None:
        names = list(self.signature.parameters)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            raise ValueError(f"key={template!r}: not a valid template ({exc})") from None
        for field in fields:
            root = _ROOT.split(field, 1)[0]
            if root not in names:
                raise ValueError(
                    f"key={template!r}: {{{field}}} names no parameter of {self.function}; "
                    f"use parameter names: {', '.join(names) or '(none)'}"
                )

    def __call__(self, args: Any, kwargs: Any) -> str:
        if self.key_func is not None:
            body = self.key_func(*args, **kwargs)
            if not isinstance(body, str):
                raise TypeError(
                    f"cached key function for {self.function} returned {body!r}: expected a str"
                )
            return self.prefix + body
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.function}(): {exc}") from None
        bound.apply_defaults()
        if self.template is not None:
            return self.prefix + self.template.format(**bound.arguments)
        parts: List[str] = []
        for name, value in bound.arguments.items():
            parts.append(f"{name}=")
            try:
                canonical(value, parts)
            except TypeError as exc:
                raise TypeError(f"{self.function}(): argument {name!r}: {exc}") from None
        digest = hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.prefix}{self.function}:{digest[:32]}"
