"""Cache keys: deterministic across processes, type-aware, templated, and loud when unstable."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import subprocess
import sys
import uuid
from typing import Any, List

import pytest

from flyer_cache import cached
from flyer_cache._keys import canonical


def _text(value: Any) -> str:
    parts: List[str] = []
    canonical(value, parts)
    return "".join(parts)


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Tagged:
    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __repr__(self) -> str:
        return f"Tagged({self.tag!r})"


class Opaque:
    pass


def test_types_are_part_of_the_key() -> None:
    values = [1, 1.0, True, "1", b"1", (1,), [1], {1}, {"1": 1}, None, Color.RED]
    texts = [_text(v) for v in values]
    assert len(set(texts)) == len(texts)


def test_equal_values_give_equal_text_whatever_the_order() -> None:
    assert _text({"b": 1, "a": [1, 2]}) == _text({"a": [1, 2], "b": 1})
    assert _text({3, 1, 2}) == _text({2, 3, 1})
    assert _text(Point(1, 2)) == _text(Point(1, 2)) != _text(Point(2, 1))
    assert _text(Tagged("x")) == _text(Tagged("x")) != _text(Tagged("y"))
    stamp = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert _text(stamp) == _text(stamp.replace())
    ident = uuid.UUID(int=7)
    assert _text(ident) == _text(uuid.UUID(int=7))
    assert _text(decimal.Decimal("1.10")) != _text(decimal.Decimal("1.1"))


def test_objects_without_a_stable_repr_are_refused() -> None:
    with pytest.raises(TypeError, match="has no stable cache key"):
        _text(Opaque())

    @cached(backend=None)
    def f(thing: Any) -> None:
        return None

    with pytest.raises(TypeError, match=r"argument 'thing'.*Opaque has no stable cache key"):
        f.cache_key(Opaque())


def test_positional_keyword_and_default_spellings_agree() -> None:
    @cached
    def f(a: int, b: int = 2, *rest: int, c: int = 3, **extra: int) -> None:
        return None

    key = f.cache_key(1)
    assert f.cache_key(1, 2) == key
    assert f.cache_key(a=1, b=2, c=3) == key
    assert f.cache_key(1, 2, 9) != key
    assert f.cache_key(1, z=1, y=2) == f.cache_key(1, y=2, z=1)
    assert key.startswith(f"flyer:{__name__}.test_positional_keyword_and_default_spellings_agree")


def test_wrong_arguments_raise_like_the_function_would() -> None:
    @cached
    def f(a: int) -> int:
        return a

    with pytest.raises(TypeError, match="missing a required argument"):
        f()  # type: ignore[call-arg]


PROBE = """
import sys
sys.path[:0] = {path!r}
from flyer_cache import cached

@cached(namespace="probe")
def lookup(user, flags=(), **options):
    return None

print(lookup.cache_key("ü", flags=("a", 1.5), when={{"b": None, "a": [True]}}))
"""


def test_keys_are_identical_in_other_processes_whatever_the_hash_seed() -> None:
    script = PROBE.format(path=[p for p in sys.path if p])
    keys = set()
    for seed in ("1", "2", "random"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        keys.add(result.stdout.strip())
    assert len(keys) == 1
    (key,) = keys
    assert key.startswith("probe:__main__.lookup:")


def test_key_template_and_key_function() -> None:
    @cached(key="user:{user_id}:{opts[lang]}", namespace="app")
    def profile(user_id: int, opts: Any = None) -> None:
        return None

    assert profile.cache_key(7, {"lang": "zh"}) == "app:user:7:zh"

    @cached(key=lambda user_id, **_: f"u{user_id}", namespace="")
    def other(user_id: int, verbose: bool = False) -> None:
        return None

    assert other.cache_key(3, verbose=True) == "u3"


def test_template_naming_no_parameter_fails_at_decoration() -> None:
    with pytest.raises(
        ValueError, match=r"\{uid\} names no parameter .*use parameter names: user_id"
    ):

        @cached(key="user:{uid}")
        def profile(user_id: int) -> None:
            return None

    with pytest.raises(ValueError, match="names no parameter"):

        @cached(key="user:{}")
        def positional(user_id: int) -> None:
            return None


def test_key_function_must_return_str() -> None:
    @cached(key=lambda x: x)
    def f(x: Any) -> None:
        return None

    with pytest.raises(TypeError, match="returned 5: expected a str"):
        f.cache_key(5)


def test_bad_key_spec() -> None:
    with pytest.raises(TypeError, match="key=5"):
        cached(key=5)  # type: ignore[arg-type]
