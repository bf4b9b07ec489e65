"""The JSON cache: TTLs on Redis and in process, delete, eviction, bad values."""

from __future__ import annotations

import asyncio

import pytest

from sigmax.storage.cache import Cache, InProcessCache
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import close_redis, get_redis


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_store_cache_round_trip_and_ttl_on_redis(
    shared_redis: RedisConfig, prefix: str
) -> None:
    cache = Cache(shared_redis, namespace=prefix)
    try:
        value = {"price": 101.25, "tags": ["a", "b"], "n": None, "ok": True}
        await cache.set("q", value, ttl_s=30)
        got = await cache.get("q")
        assert got == value and got is not value and cache.backend == "redis"
        client = get_redis(shared_redis)
        assert client is not None
        assert 0 < await client.pttl(prefix + "q") <= 30_000
        await cache.set("short", [1, 2], ttl_s=0.05)
        assert await cache.get("short") == [1, 2]
        await asyncio.sleep(0.1)
        assert await cache.get("short") is None
        assert await cache.delete("q") is True
        assert await cache.delete("q") is False
        assert await cache.get("q") is None
        assert cache.backend == "redis"
    finally:
        await close_redis()


@pytest.mark.asyncio
async def test_store_cache_in_process_ttl_with_fake_clock() -> None:
    clock = FakeClock()
    cache = Cache(RedisConfig(url=None), clock=clock)
    await cache.set("a", {"x": 1}, ttl_s=10)
    assert await cache.get("a") == {"x": 1} and cache.backend == "memory"
    clock.now += 9.999
    assert await cache.get("a") == {"x": 1}
    clock.now += 0.001
    assert await cache.get("a") is None
    await cache.set("b", 1, ttl_s=1)
    clock.now += 2
    assert await cache.delete("b") is False  # expired: nothing was there any more
    assert cache.degraded_reason == "redis not configured, using in-process cache"


def test_store_in_process_cache_evicts_least_recently_used() -> None:
    cache = InProcessCache(max_entries=2)
    cache.set_raw("a", "1", 10)
    cache.set_raw("b", "2", 10)
    assert cache.get_raw("a") == "1"  # a is now the most recently used
    cache.set_raw("c", "3", 10)
    assert cache.get_raw("b") is None
    assert (cache.get_raw("a"), cache.get_raw("c")) == ("1", "3")


@pytest.mark.asyncio
async def test_store_cache_rejects_bad_values_and_ttls() -> None:
    cache = Cache(RedisConfig(url=None))
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        await cache.set("k", {1, 2}, ttl_s=1)
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        await cache.set("k", float("nan"), ttl_s=1)
    with pytest.raises(ValueError, match="ttl_s must be a positive number"):
        await cache.set("k", 1, ttl_s=0)
