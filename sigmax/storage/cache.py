"""A small async JSON cache with TTLs: on Redis, in-process while Redis is absent or down.

Values are JSON (what ``json.dumps`` accepts) and come back as fresh objects, on
either backend. While the fallback is in use each process has its own cache; what
was written there is not copied to Redis when it comes back (a cache may forget).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

from redis.asyncio import Redis

from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import RedisGuard, Unavailable

Backend = Literal["redis", "memory"]


def _ttl_ms(ttl_s: float) -> int:
    if not (ttl_s > 0 and math.isfinite(ttl_s)):
        raise ValueError(f"cache: ttl_s must be a positive number, got {ttl_s}")
    return max(1, math.ceil(ttl_s * 1000))


class InProcessCache:
    """TTL cache in this process's memory, least recently used out beyond ``max_entries``."""

    def __init__(
        self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"cache: max_entries must be >= 1, got {max_entries}")
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get_raw(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self._clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def set_raw(self, key: str, raw: str, ttl_s: float) -> None:
        with self._lock:
            self._items[key] = (self._clock() + ttl_s, raw)
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def delete(self, key: str) -> bool:
        with self._lock:
            item = self._items.pop(key, None)
            return item is not None and item[0] > self._clock()


class Cache:
    """get/set/delete of JSON values with a TTL, on Redis with an in-process fallback.

    ``get`` returns None for a missing or expired key. ``redis`` overrides the shared
    pool with a client of your own; ``clock`` drives the in-process fallback only.
    """

    def __init__(
        self,
        config: RedisConfig | None = None,
        *,
        redis: Redis | None = None,
        namespace: str = "sigmax:cache:",
        max_local_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._guard = RedisGuard("cache", "in-process cache", config, redis)
        self._memory = InProcessCache(max_local_entries, clock)
        self._ns = namespace
        self.backend: Backend = "memory"

    @property
    def degraded_reason(self) -> str | None:
        """Why the cache is on its in-process fallback now; None while it uses Redis."""
        return self._guard.degraded_reason

    async def get(self, key: str) -> Any:
        """The value stored under ``key``, or None."""

        async def run(client: Redis) -> bytes | str | None:
            value: bytes | str | None = await client.get(self._ns + key)
            return value

        raw = await self._guard.run(run)
        if isinstance(raw, Unavailable):
            self.backend = "memory"
            text = self._memory.get_raw(key)
        else:
            self.backend = "redis"
            text = raw.decode() if isinstance(raw, bytes) else raw
        return None if text is None else json.loads(text)

    async def set(self, key: str, value: Any, ttl_s: float) -> None:
        """Store ``value`` (JSON-serialisable) under ``key`` for ``ttl_s`` seconds."""
        ttl_ms = _ttl_ms(ttl_s)
        try:
            raw = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cache: value for {key!r} is not JSON-serialisable: {exc}") from exc

        async def run(client: Redis) -> None:
            await client.set(self._ns + key, raw, px=ttl_ms)

        done = await self._guard.run(run)
        if isinstance(done, Unavailable):
            self.backend = "memory"
            self._memory.set_raw(key, raw, ttl_s)
        else:
            self.backend = "redis"

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""

        async def run(client: Redis) -> int:
            return int(await client.delete(self._ns + key))

        removed = await self._guard.run(run)
        if isinstance(removed, Unavailable):
            self.backend = "memory"
            return self._memory.delete(key)
        self.backend = "redis"
        return removed > 0
