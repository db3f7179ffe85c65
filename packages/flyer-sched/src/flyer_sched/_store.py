"""The lock store protocol shared by the Redis, file and memory backends.

A store keeps, per lock name, a *state* that never expires (the highest tick claimed, the last
fencing token, the last holder, a fleet-wide pause flag) and a *run lock* with a token and a
TTL. `claim` is one atomic step: refuse when paused, refuse a tick at or below the highest tick
already claimed ("done": some process took it, even if it has finished since), refuse while
another holder's run lock is alive ("busy"), else take the run lock, record the tick and hand out
the next fencing token. `renew` and `release` act only when the caller's token matches.
"""

from __future__ import annotations

import os
import socket
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class LockStoreError(Exception):
    """The lock store could not be reached or answered with an error."""


@dataclass(frozen=True)
class Claim:
    """What `LockStore.claim` decided.

    `reason` is `"acquired"`, `"done"` (the tick was already claimed), `"busy"` (another
    holder's run lock is alive), `"paused"` (paused fleet-wide), `"late"` (the claim reached
    the store after its sender had given up on it) or `"starting"` (a lease store that lost its
    data waits before handing out the lease again). `holder` names the current
    holder when busy, the last holder when done; `expires_in` is the seconds left on a busy
    holder's lock.
    """

    acquired: bool
    reason: str
    fencing_token: Optional[int] = None
    holder: Optional[str] = None
    expires_in: Optional[float] = None


@dataclass(frozen=True)
class LockStatus:
    """A lock's state as the store sees it now (for listings and readiness)."""

    holder: Optional[str] = None
    expires_in: Optional[float] = None
    last_tick: Optional[datetime] = None
    last_holder: Optional[str] = None
    fencing_token: Optional[int] = None
    paused: bool = False


class LockStore(ABC):
    """A place where processes agree on who runs a tick. Subclass it for another backend."""

    kind = "custom"

    @abstractmethod
    def claim(self, name: str, tick: Optional[int], token: str, holder: str, ttl: float) -> Claim:
        """Atomically claim `name` for `tick` (microseconds since the epoch, None: no tick)."""

    def claim_lease(self, name: str, token: str, holder: str, ttl: float, grace: float) -> Claim:
        """Claim a leader's lease (no tick). A store that can lose its state (Redis without
        persistence) makes the first claim after the loss wait `grace` seconds, so the leader
        that held the lost lease notices at its next renewal before another one starts."""
        return self.claim(name, None, token, holder, ttl)

    @abstractmethod
    def renew(self, name: str, token: str, ttl: float) -> bool:
        """Extend the run lock to `ttl` seconds from now if `token` still holds it."""

    @abstractmethod
    def release(self, name: str, token: str) -> bool:
        """Free the run lock if `token` holds it. The claimed tick stays claimed."""

    @abstractmethod
    def status(self, name: str) -> LockStatus:
        """The current holder, last tick, last fencing token and pause flag of `name`."""

    @abstractmethod
    def set_paused(self, name: str, paused: bool) -> None:
        """Pause or resume `name` for every process that uses this store."""

    def ping(self) -> bool:
        """Whether the store answers (readiness)."""
        return True

    def warm(self) -> None:  # noqa: B027 - optional hook
        """Do the local set-up work (imports, clients) now rather than in the first tick."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store's connections or files."""


def holder_id() -> str:
    """Who is asking: `host:pid`. Computed per call, so a forked child names itself."""
    return f"{socket.gethostname()}:{os.getpid()}"


def tick_of(moment: datetime) -> int:
    """A fire time as whole microseconds since the epoch (exact, timezone-independent)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def tick_time(tick: int) -> datetime:
    """The inverse of `tick_of`, in UTC."""
    return EPOCH + timedelta(microseconds=tick)


def renew_interval(ttl: float) -> float:
    """How often a held lock or lease is renewed: four times per TTL, so three renewals in a
    row can fail or come late before a live holder loses it."""
    return ttl / 4


def now_us() -> int:
    """Wall-clock microseconds since the epoch."""
    return time.time_ns() // 1000


def next_fence(previous: Optional[int], now: int) -> int:
    """The next fencing token: above the previous one and never below the clock.

    Starting from the clock keeps tokens increasing even when a store loses its state (a Redis
    restart without persistence, a wiped lock directory).
    """
    if previous is None or previous < now:
        return now
    return previous + 1
