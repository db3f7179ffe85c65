"""`RetryPolicy`: how many tries, how long to wait between them, when to stop trying.

flyer-http and flyer-db mean the same by these fields, so both subclass this one type: each
adds what only it decides (which calls and failures are retried) and keeps its defaults.
"""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, TypeVar

P = TypeVar("P", bound="RetryPolicy")

#: Other names a field answers to: flyer-db's first names and the ancestor's keywords.
ALIASES: Mapping[str, str] = {
    "backoff": "multiplier",
    "max_backoff": "max_wait",
    "stop_max_attempt_number": "attempts",
    "stop_max_delay": "max_delay",
    "wait_exponential_multiplier": "multiplier",
    "wait_exponential_max": "max_wait",
}


class RetryPolicy:
    """Tries, waits and a deadline; immutable, compared and hashed by value.

    - `attempts`: tries in all, the first included (also `stop_max_attempt_number`).
    - `max_delay`: seconds after the first try began past which no new try starts
      (also `stop_max_delay`).
    - `multiplier`, `max_wait`: the wait after try n failed is `multiplier * 2 ** (n - 1)`
      seconds, at most `max_wait` (also `backoff` / `wait_exponential_multiplier` and
      `max_backoff` / `wait_exponential_max`).
    - `jitter`: each wait is shortened by a random fraction up to this (0 to 1), which
      keeps `max_wait` an upper bound while spreading clients apart.

    Every argument is a keyword; a field given under two names is refused.
    """

    __slots__ = ("attempts", "jitter", "max_delay", "max_wait", "multiplier")

    #: The values of fields not given; each package's subclass sets its own.
    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "attempts": 3,
        "max_delay": 60.0,
        "multiplier": 2.0,
        "max_wait": 10.0,
        "jitter": 0.25,
    }
    #: How error messages call a number of seconds.
    _seconds: ClassVar[str] = "a number"
    #: Every field, the subclasses' too, in constructor order.
    _fields: ClassVar[Tuple[str, ...]] = (
        "attempts",
        "max_delay",
        "multiplier",
        "max_wait",
        "jitter",
    )

    attempts: int
    max_delay: float
    multiplier: float
    max_wait: float
    jitter: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(name for name in cls.__dict__.get("__slots__", ()) if name not in cls._fields)
        cls._fields = cls._fields + own

    def __init__(
        self,
        *,
        attempts: Optional[int] = None,
        max_delay: Optional[float] = None,
        multiplier: Optional[float] = None,
        max_wait: Optional[float] = None,
        jitter: Optional[float] = None,
        backoff: Optional[float] = None,
        max_backoff: Optional[float] = None,
        stop_max_attempt_number: Optional[int] = None,
        stop_max_delay: Optional[float] = None,
        wait_exponential_multiplier: Optional[float] = None,
        wait_exponential_max: Optional[float] = None,
    ) -> None:
        given = {
            "attempts": attempts,
            "max_delay": max_delay,
            "multiplier": multiplier,
            "max_wait": max_wait,
            "jitter": jitter,
            "backoff": backoff,
            "max_backoff": max_backoff,
            "stop_max_attempt_number": stop_max_attempt_number,
            "stop_max_delay": stop_max_delay,
            "wait_exponential_multiplier": wait_exponential_multiplier,
            "wait_exponential_max": wait_exponential_max,
        }
        named: Dict[str, str] = {}  # field -> the name its value was given under
        for name, value in given.items():
            if value is None:
                continue
            field = ALIASES.get(name, name)
            if field in named:
                raise ValueError(
                    f"{type(self).__name__} {name}={value!r} conflicts with "
                    f"{named[field]}={given[named[field]]!r}: pass one or the other"
                )
            named[field] = name
        for field in ("attempts", "max_delay", "multiplier", "max_wait", "jitter"):
            name = named.get(field, field)
            value = given[name] if field in named else self.DEFAULTS[field]
            if field == "attempts":
                self._check(name, value, minimum=1, integer=True)
            elif field == "jitter":
                self._check(name, value, maximum=1)
            else:
                self._check(name, value)
            object.__setattr__(self, field, value)

    def _check(
        self,
        name: str,
        value: object,
        *,
        minimum: float = 0,
        maximum: float = math.inf,
        integer: bool = False,
    ) -> None:
        """Refuse `value` for the argument `name` unless it is a finite number in range."""
        ok = False
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            whole = isinstance(value, int) or not integer
            ok = whole and math.isfinite(value) and minimum <= value <= maximum
        if not ok:
            kind = "an integer" if integer else self._seconds if maximum == math.inf else "a number"
            bound = f"{minimum:g}-{maximum:g}" if maximum != math.inf else f">= {minimum:g}"
            raise ValueError(f"{type(self).__name__} {name}={value!r}: expected {kind} {bound}")

    @property
    def backoff(self) -> float:
        """flyer-db's first name for `multiplier`: the first wait, in seconds."""
        return self.multiplier

    @property
    def max_backoff(self) -> float:
        """flyer-db's first name for `max_wait`: the longest wait, in seconds."""
        return self.max_wait

    def wait(self, attempt: int) -> float:
        """Seconds to wait after the try numbered `attempt` (1 for the first) failed."""
        try:
            wait = min(self.multiplier * 2.0 ** (attempt - 1), self.max_wait)
        except OverflowError:
            wait = self.max_wait
        return wait * (1.0 - self.jitter * random.random()) if self.jitter else wait

    def replace(self: P, **changes: Any) -> P:
        """A copy with some fields changed, under any of their names: `policy.replace(attempts=5)`."""
        values = self._values()
        for name in changes:
            values.pop(ALIASES.get(name, name), None)
        values.update(changes)
        return type(self)(**values)

    def _values(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, RetryPolicy):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self._values().values())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self._values().items())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_rebuild, (type(self), self._values()))


def _rebuild(cls: Type[RetryPolicy], values: Dict[str, Any]) -> RetryPolicy:
    return cls(**values)
