"""Sliding-window rate limits: atomic in Redis, in-process when Redis is absent or down.

Each key keeps a log of its accepted hits (in Redis a sorted set scored by the
server's clock in microseconds). A hit is allowed when fewer than ``limit`` hits lie
in the last ``window_s`` seconds. The Redis path does trim + count + add + expire in
one Lua script, so concurrent callers on any number of connections or API replicas
never let more than ``limit`` through; it reads Redis's own clock (``TIME``), so the
replicas' clocks do not matter.

The in-process fallback gives the same answers for one process; while it is in use,
each replica counts on its own, so the effective limit is per replica. That is the
price of staying up without Redis, and :func:`sigmax.storage.redis_store.health`
reports it ("degraded: redis unreachable, using in-process limits").
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import RedisGuard, Unavailable

Backend = Literal["redis", "memory"]

# KEYS[1] = the key's sorted set; ARGV = limit, window (µs), unique member.
# Returns {allowed (0/1), remaining, µs until the oldest counted hit leaves the window}.
SLIDING_WINDOW_LUA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, limit - count, reset}
"""


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    """One decision: allowed or not, what is left, and when to come back.

    ``reset_after_s`` is when the oldest counted hit leaves the window (one more hit
    becomes possible); ``retry_after_s`` is that time when refused, else 0.
    ``backend`` says who decided: ``"redis"`` or ``"memory"`` (the fallback).
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float
    reset_after_s: float
    backend: Backend


def _check(limit: int, window_s: float) -> None:
    if limit < 1:
        raise ValueError(f"rate limit: limit must be >= 1, got {limit}")
    if not (window_s > 0 and math.isfinite(window_s)):
        raise ValueError(f"rate limit: window_s must be a positive number, got {window_s}")


class InProcessRateLimiter:
    """The sliding-window log in this process's memory; exact under threads and tasks.

    ``clock`` returns seconds (monotonic by default; tests inject a fake one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, key: str, limit: int, window_s: float) -> RateLimitResult:
        """Count one hit on ``key`` if fewer than ``limit`` lie in the last ``window_s``."""
        _check(limit, window_s)
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, deque())
            _trim(hits, now - window_s)
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            reset = hits[0] + window_s - now if hits else 0.0
            self._calls += 1
            if self._calls % 10_000 == 0:
                self._sweep(now, window_s)
            return RateLimitResult(
                allowed, limit, limit - len(hits), 0.0 if allowed else reset, reset, "memory"
            )

    def counted(self, key: str, window_s: float) -> int:
        """How many hits of ``key`` lie in the last ``window_s`` seconds (none counted)."""
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0
            cutoff = self._clock() - window_s
            return sum(1 for t in hits if t > cutoff)

    def keys(self) -> list[str]:
        """The keys with a hit log (idle ones are swept away now and then)."""
        with self._lock:
            return list(self._hits)

    def _sweep(self, now: float, window_s: float) -> None:
        """Forget keys with nothing in the window, so idle keys do not pile up."""
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - window_s]:
            del self._hits[key]


def _trim(hits: deque[float], cutoff: float) -> None:
    while hits and hits[0] <= cutoff:
        hits.popleft()


class RateLimiter:
    """Sliding-window limiter on Redis (shared by all replicas) with an in-process fallback.

    Limit and window come with each call, so one limiter serves every key and
    endpoint class. ``redis`` overrides the shared pool with a client of your own;
    ``clock`` drives the in-process fallback only (Redis uses its own clock).
    """

    def __init__(
        self,
        config: RedisConfig | None = None,
        *,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = "sigmax:rl:",
    ) -> None:
        self._guard = RedisGuard("rate_limit", "in-process limits", config, redis)
        self._memory = InProcessRateLimiter(clock)
        self._prefix = prefix
        self._script_sha: str | None = None
        self.backend: Backend = "memory"

    @property
    def degraded_reason(self) -> str | None:
        """Why the limiter is on its in-process fallback now; None while it uses Redis."""
        return self._guard.degraded_reason

    async def hit(self, key: str, limit: int, window_s: float) -> RateLimitResult:
        """Count one hit on ``key``; never raises because Redis is down."""
        _check(limit, window_s)
        window_us = max(1, math.ceil(window_s * 1_000_000))
        member = uuid.uuid4().hex

        async def run(client: Redis) -> list[int]:
            reply = await self._eval(client, self._prefix + key, limit, window_us, member)
            return [int(v) for v in reply]

        reply = await self._guard.run(run)
        if isinstance(reply, Unavailable):
            self.backend = "memory"
            return self._memory.hit(key, limit, window_s)
        self.backend = "redis"
        allowed, remaining, reset_us = reply
        reset_s = reset_us / 1_000_000
        return RateLimitResult(
            allowed == 1, limit, remaining, 0.0 if allowed else reset_s, reset_s, "redis"
        )

    async def _eval(
        self, client: Redis, key: str, limit: int, window_us: int, member: str
    ) -> list[Any]:
        """EVALSHA, loading the script on first use and again after SCRIPT FLUSH."""
        if self._script_sha is None:
            self._script_sha = str(await client.script_load(SLIDING_WINDOW_LUA))
        try:
            reply = await client.evalsha(self._script_sha, 1, key, limit, window_us, member)
        except NoScriptError:
            self._script_sha = str(await client.script_load(SLIDING_WINDOW_LUA))
            reply = await client.evalsha(self._script_sha, 1, key, limit, window_us, member)
        return list(reply)
