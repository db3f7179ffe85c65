"""The Redis lock store: many processes on many hosts.

Every decision is one Lua script (redis-py `register_script`), so claim, renew and release are
atomic and compare the caller's token inside Redis. Keys carry a hash tag (`{job:...}`) so a
lock's two keys live in one Redis Cluster slot:

- `<prefix>:{<name>}:state`: hash `tick`, `fence`, `holder`, `paused`; never expires.
- `<prefix>:{<name>}:run`: hash `token`, `holder`, `tick`, `since`; expires after the TTL.
"""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Type

from flyer_sched._store import Claim, LockStatus, LockStore, LockStoreError, tick_time

if TYPE_CHECKING:
    from redis import Redis

    from flyer_sched._settings import SchedSettings

# A retried claim (reply lost, command re-sent) must not lock its own sender out, so a run
# lock that already carries the caller's token counts as acquired. A claim that reaches Redis
# after its deadline (Redis's own clock, microseconds) changes nothing and answers "late": its
# sender has given up on it by then. A leader's claim (`grace` > 0) on a lock whose state is
# gone (a restart without persistence) waits `grace` ms, so the leader that held the lost lease
# finds it gone at its next renewal before anyone else starts. Every reply ends with Redis's
# clock, from which the client keeps its estimate of that clock.
_CLAIM = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local state, run = KEYS[1], KEYS[2]
local tick, token, holder, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local deadline, floor, grace = ARGV[5], ARGV[6], tonumber(ARGV[7])
local t = redis.call('TIME')
local now = t[1] .. string.rep('0', 6 - string.len(t[2])) .. t[2]
local clock = tonumber(now)
if redis.call('HGET', run, 'token') == token then
  return {1, 'acquired', redis.call('HGET', state, 'fence'), holder, 0, now}
end
if deadline ~= '' and clock > tonumber(deadline) then
  return {0, 'late', false, '', 0, now}
end
if redis.call('HGET', state, 'paused') == '1' then
  return {0, 'paused', false, '', 0, now}
end
if tick ~= '' then
  local last = redis.call('HGET', state, 'tick')
  if last and tonumber(last) >= tonumber(tick) then
    return {0, 'done', false, redis.call('HGET', state, 'holder') or '', 0, now}
  end
end
if redis.call('EXISTS', run) == 1 then
  return {0, 'busy', false, redis.call('HGET', run, 'holder') or '', redis.call('PTTL', run), now}
end
if grace > 0 then
  if redis.call('EXISTS', state) == 0 then
    redis.call('HSET', state, 'born', now)
  end
  local born = redis.call('HGET', state, 'born')
  if born then
    local left = math.floor((tonumber(born) + grace * 1000 - clock) / 1000)
    if left > 0 then
      return {0, 'starting', false, '', left, now}
    end
  end
end
redis.call('HSET', run, 'token', token, 'holder', holder, 'tick', tick, 'since', now)
redis.call('PEXPIRE', run, ttl)
if tick ~= '' then
  redis.call('HSET', state, 'tick', tick)
end
redis.call('HSET', state, 'holder', holder)
local fence = clock
local last = tonumber(redis.call('HGET', state, 'fence') or '0')
if last >= fence then fence = last + 1 end
if floor ~= '' and tonumber(floor) >= fence then fence = tonumber(floor) + 1 end
fence = string.format('%.0f', fence)
redis.call('HSET', state, 'fence', fence)
return {1, 'acquired', fence, holder, 0, now}
"""

_RENEW = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_SCRIPTS = (_CLAIM, _RENEW, _RELEASE)
_SHAS = tuple(hashlib.sha1(script.encode()).hexdigest() for script in _SCRIPTS)


def _text(value: Any) -> Optional[str]:
    if value is None or value is False:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def client_from_settings(settings: SchedSettings) -> Redis:
    """A Redis client for the lock store: flyer-cache's shared, fork-safe pools when flyer-cache
    is installed, else a plain redis-py client. Either way with 2 s connect and reply timeouts,
    so a hung server cannot hold a tick for long."""
    timeouts: Any = {"socket_connect_timeout": 2.0, "socket_timeout": 2.0}
    url = settings.redis_url.get_secret_value() if settings.redis_url else None
    password = settings.redis_pass.get_secret_value() if settings.redis_pass else None
    try:
        from flyer_cache import from_url, get_redis_pool
    except ImportError:
        pass
    else:
        if url:
            return from_url(url, **timeouts)
        return get_redis_pool(
            settings.redis_host or "localhost",
            settings.redis_port,
            password,
            settings.redis_db,
            **timeouts,
        )
    try:
        import redis
    except ImportError:
        raise RuntimeError(
            "the Redis lock store needs redis-py: pip install 'flyer-sched[redis]'"
        ) from None
    if url:
        return redis.Redis.from_url(url, **timeouts)
    return redis.Redis(
        host=settings.redis_host or "localhost",
        port=settings.redis_port,
        password=password,
        db=settings.redis_db,
        **timeouts,
    )


class RedisLockStore(LockStore):
    """Locks in Redis. Give a `redis.Redis` client, or a `url` to create one on first use."""

    kind = "redis"

    def __init__(
        self,
        client: Optional[Redis] = None,
        *,
        url: Optional[str] = None,
        prefix: str = "flyer:sched",
    ) -> None:
        if client is None and url is None:
            raise ValueError("RedisLockStore needs a client or a url")
        self._client = client
        self._url = url
        self.prefix = prefix
        self._keys_cache: Dict[str, Tuple[str, str]] = {}
        # RedisError and NoScriptError, imported on first use
        self._errors: Optional[Tuple[Type[Exception], Type[Exception]]] = None
        self._mutex = threading.Lock()
        # Redis's clock minus ours (monotonic), in microseconds, and the round trip it came from.
        self._offset: Optional[Tuple[float, float, float]] = None
        # Claims and releases whose reply never came: (name, token) -> when to forget them.
        self._abandoned: Dict[Tuple[str, str], float] = {}
        self._fences: Dict[str, int] = {}
        self._claim_timeout_cache: Optional[Tuple[Optional[float]]] = (
            None  # claim_timeout, once known
        )

    def __repr__(self) -> str:
        where = "client" if self._url is None else "url"
        return f"RedisLockStore({where}=..., prefix={self.prefix!r})"

    @property
    def client(self) -> Redis:
        """The Redis client (created from the URL on first use)."""
        if self._client is None:
            assert self._url is not None
            import redis

            self._client = redis.Redis.from_url(
                self._url, socket_connect_timeout=2.0, socket_timeout=2.0
            )
        return self._client

    def _keys(self, name: str) -> Tuple[str, str]:
        keys = self._keys_cache.get(name)
        if keys is None:
            tag = urllib.parse.quote(name, safe=":._-@/")
            keys = (f"{self.prefix}:{{{tag}}}:state", f"{self.prefix}:{{{tag}}}:run")
            if len(self._keys_cache) >= 10_000:
                self._keys_cache.clear()
            self._keys_cache[name] = keys
        return keys

    def _redis_errors(self) -> Tuple[Type[Exception], Type[Exception]]:
        if self._errors is None:
            from redis.exceptions import NoScriptError, RedisError

            self._errors = (RedisError, NoScriptError)
        return self._errors

    def _call(self, index: int, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run script `index` by its SHA1 (EVALSHA); by its source (EVAL, which also caches it
        in Redis) when Redis does not know it yet, e.g. after a restart or SCRIPT FLUSH."""
        redis_error, no_script = self._errors or self._redis_errors()
        client = self._client or self.client
        try:
            try:
                return client.evalsha(_SHAS[index], len(keys), *keys, *args)
            except no_script:
                return client.eval(_SCRIPTS[index], len(keys), *keys, *args)
        except redis_error as exc:
            raise LockStoreError(f"redis lock store: {exc}") from exc

    @property
    def claim_timeout(self) -> Optional[float]:
        """Seconds after sending a claim past which Redis refuses it ("late"): half the client's
        socket timeout, so a claim the client has given up on can never take the lock. None
        when the client waits forever."""
        if self._claim_timeout_cache is None:
            pool = getattr(self.client, "connection_pool", None)
            timeout = getattr(pool, "connection_kwargs", {}).get("socket_timeout")
            self._claim_timeout_cache = (float(timeout) / 2 if timeout else None,)
        return self._claim_timeout_cache[0]

    def _observe(self, redis_us: int, sent: float, received: float) -> None:
        """Refine the estimate of Redis's clock from a reply that took `received - sent`."""
        rtt = received - sent
        best = self._offset  # one tuple, replaced whole: no lock needed to read or swap it
        if best is None or rtt <= max(best[1], 0.05) or received - best[2] > 60:
            self._offset = (redis_us - (sent + received) / 2 * 1e6, rtt, received)

    def _redis_clock(self) -> float:
        """Redis's clock now, in microseconds, as estimated from earlier replies."""
        if self._offset is None:
            from redis.exceptions import RedisError

            sent = time.monotonic()
            try:
                seconds, micros = self.client.time()
            except RedisError as exc:
                raise LockStoreError(f"redis lock store: {exc}") from exc
            self._observe(int(seconds) * 1_000_000 + int(micros), sent, time.monotonic())
        assert self._offset is not None
        return time.monotonic() * 1e6 + self._offset[0]

    def _abandon(self, name: str, token: str, ttl: float) -> None:
        """Remember a token whose claim may have reached Redis without its reply reaching us."""
        timeout = self.claim_timeout
        keep = ttl + timeout if timeout is not None else 24 * 3600.0
        with self._mutex:
            if len(self._abandoned) >= 1000:
                self._abandoned.pop(next(iter(self._abandoned)))
            self._abandoned[(name, token)] = time.monotonic() + keep

    def _release_abandoned(self) -> int:
        """Release every abandoned token in one round trip; the number of locks freed."""
        redis_error = self._redis_errors()[0]
        now = time.monotonic()
        with self._mutex:
            for key in [k for k, until in self._abandoned.items() if until < now]:
                del self._abandoned[key]
            pending = list(self._abandoned)
        if not pending:
            return 0
        try:
            pipe = self.client.pipeline(transaction=False)
            for name, token in pending:
                pipe.eval(_RELEASE, 1, self._keys(name)[1], token)
            freed = sum(int(r) for r in pipe.execute())
        except redis_error:
            return 0
        with self._mutex:
            for key in pending:
                self._abandoned.pop(key, None)
        return freed

    def claim(self, name: str, tick: Optional[int], token: str, holder: str, ttl: float) -> Claim:
        return self._claim(name, tick, token, holder, ttl, 0.0)

    def claim_lease(self, name: str, token: str, holder: str, ttl: float, grace: float) -> Claim:
        return self._claim(name, None, token, holder, ttl, grace)

    def _claim(
        self, name: str, tick: Optional[int], token: str, holder: str, ttl: float, grace: float
    ) -> Claim:
        ttl_ms = max(1, int(ttl * 1000))
        tick_arg = "" if tick is None else str(tick)
        keys = self._keys(name)
        floor = self._fences.get(name)
        timeout = self.claim_timeout
        for attempt in range(2):
            deadline = "" if timeout is None else str(int(self._redis_clock() + timeout * 1e6))
            args = [tick_arg, token, holder, ttl_ms, deadline, floor or "", int(grace * 1000)]
            sent = time.monotonic()
            try:
                reply = self._call(0, keys, args)
            except LockStoreError:
                self._abandon(name, token, ttl)
                raise
            received = time.monotonic()
            acquired, reason, fence, who, left, clock = reply
            self._observe(int(clock), sent, received)
            reason_text = _text(reason) or ""
            if reason_text == "late" and timeout is not None and received - sent < timeout:
                continue  # answered in time yet "late": our estimate of its clock was off
            if reason_text == "busy" and self._release_abandoned() and attempt == 0:
                continue  # the lock in the way was one of our own abandoned claims
            break
        if self._abandoned:
            self._release_abandoned()
        fence_text = _text(fence)
        fencing_token = int(fence_text) if fence_text else None
        if fencing_token is not None and fencing_token > self._fences.get(name, 0):
            self._fences[name] = fencing_token
        return Claim(
            acquired=bool(int(acquired)),
            reason=reason_text,
            fencing_token=fencing_token,
            holder=_text(who) or None,
            expires_in=int(left) / 1000 if int(left) > 0 else None,
        )

    def renew(self, name: str, token: str, ttl: float) -> bool:
        ttl_ms = max(1, int(ttl * 1000))
        return bool(int(self._call(1, self._keys(name)[1:], (token, ttl_ms))))

    def release(self, name: str, token: str) -> bool:
        try:
            return bool(int(self._call(2, self._keys(name)[1:], (token,))))
        except LockStoreError:
            self._abandon(name, token, 24 * 3600.0)  # released once Redis answers again
            raise

    def status(self, name: str) -> LockStatus:
        from redis.exceptions import RedisError

        state_key, run_key = self._keys(name)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(state_key)
            pipe.hget(run_key, "holder")
            pipe.pttl(run_key)
            raw_state, raw_holder, pttl = pipe.execute()
        except RedisError as exc:
            raise LockStoreError(f"redis lock store: {exc}") from exc
        state = {_text(k): _text(v) for k, v in dict(raw_state).items()}
        holder = _text(raw_holder)
        tick = state.get("tick")
        fence = state.get("fence")
        return LockStatus(
            holder=holder,
            expires_in=int(pttl) / 1000 if holder and int(pttl) > 0 else None,
            last_tick=tick_time(int(tick)) if tick else None,
            last_holder=state.get("holder"),
            fencing_token=int(fence) if fence else None,
            paused=state.get("paused") == "1",
        )

    def set_paused(self, name: str, paused: bool) -> None:
        from redis.exceptions import RedisError

        state_key = self._keys(name)[0]
        try:
            if paused:
                self.client.hset(state_key, "paused", "1")
            else:
                self.client.hdel(state_key, "paused")
        except RedisError as exc:
            raise LockStoreError(f"redis lock store: {exc}") from exc

    def warm(self) -> None:
        self._redis_errors()

    def ping(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(self.client.ping())
        except RedisError:
            return False

    def close(self) -> None:
        if self._url is not None and self._client is not None:
            self._client.close()
            self._client = None
            self._claim_timeout_cache = None
