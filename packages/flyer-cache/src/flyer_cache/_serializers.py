"""How `cached` turns results into bytes: JSON by default, pickle only when asked."""

from __future__ import annotations

import json
import pickle
from typing import Any, Callable, Dict, Protocol, Union, runtime_checkable


@runtime_checkable
class Serializer(Protocol):
    """Anything with `dumps(value) -> bytes` and `loads(bytes | str) -> value`."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: Union[bytes, str]) -> Any: ...


class JsonSerializer:
    """JSON (UTF-8): safe to read from a shared store, readable by any language.

    Round trips change some types: tuples come back as lists, dict keys as strings.
    A result JSON cannot encode raises `TypeError` naming its type.
    """

    name = "json"

    def dumps(self, value: Any) -> bytes:
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"a result of type {type(value).__name__} cannot be stored as JSON ({exc}); "
                "return JSON data (dict, list, str, int, float, bool, None) or pass "
                "serializer='pickle'"
            ) from None

    def loads(self, data: Union[bytes, str]) -> Any:
        return json.loads(data)


class PickleSerializer:
    """pickle: any picklable object round-trips exactly.

    Only for a store nobody untrusted can write to: unpickling runs code chosen by
    whoever wrote the bytes.
    """

    name = "pickle"

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: Union[bytes, str]) -> Any:
        if isinstance(data, str):
            raise TypeError(
                "pickled values need a Redis client with decode_responses=False "
                "(this one decodes replies to str)"
            )
        return pickle.loads(data)  # opt-in, documented as for trusted stores only


_BY_NAME: Dict[str, Callable[[], Serializer]] = {"json": JsonSerializer, "pickle": PickleSerializer}


def resolve_serializer(serializer: Union[str, Serializer]) -> Serializer:
    """A serializer from its name (`"json"`, `"pickle"`) or as given."""
    if isinstance(serializer, str):
        try:
            return _BY_NAME[serializer]()
        except KeyError:
            raise ValueError(
                f"serializer={serializer!r}: expected 'json', 'pickle' or an object with "
                "dumps() and loads()"
            ) from None
    if isinstance(serializer, Serializer):
        return serializer
    raise ValueError(
        f"serializer={serializer!r}: expected 'json', 'pickle' or an object with "
        "dumps() and loads()"
    )
