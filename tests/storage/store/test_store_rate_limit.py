"""Sliding-window rate limits: exact on Redis across replicas, exact in process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import BlockingConnectionPool, Redis

from sigmax.storage.rate_limit import SLIDING_WINDOW_LUA, InProcessRateLimiter, RateLimiter
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import close_redis


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def replicas(shared_redis: RedisConfig) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two clients with their own pools, as two API replicas would have.

    Blocking pools, smaller than the number of concurrent callers, as in get_redis().
    """
    assert shared_redis.url is not None
    a = Redis(connection_pool=BlockingConnectionPool.from_url(shared_redis.url, max_connections=8))
    b = Redis(connection_pool=BlockingConnectionPool.from_url(shared_redis.url, max_connections=8))
    yield a, b
    await a.aclose()
    await b.aclose()
    await close_redis()


@pytest.mark.asyncio
async def test_store_exact_under_concurrency_across_two_replicas(
    replicas: tuple[Redis, Redis], shared_redis: RedisConfig, prefix: str
) -> None:
    limiters = [RateLimiter(shared_redis, redis=r, prefix=prefix) for r in replicas]
    results = await asyncio.gather(
        *(limiters[i % 2].hit("client-1", limit=50, window_s=60) for i in range(200))
    )
    assert sum(r.allowed for r in results) == 50
    assert {r.backend for r in results} == {"redis"}
    assert sorted(r.remaining for r in results if r.allowed) == list(range(50))
    refused = [r for r in results if not r.allowed]
    assert all(r.remaining == 0 and 0 < r.retry_after_s <= 60 for r in refused)
    assert await replicas[0].zcard(prefix + "client-1") == 50
    # every hit went to Redis, from both connections
    assert {lim.backend for lim in limiters} == {"redis"}


@pytest.mark.asyncio
async def test_store_lua_script_is_atomic_for_raw_callers(
    replicas: tuple[Redis, Redis], prefix: str
) -> None:
    """Many connections running the script at once never admit more than the limit."""
    key = prefix + "raw"
    script = replicas[0].register_script(SLIDING_WINDOW_LUA)

    async def one(i: int) -> int:
        reply = await script(keys=[key], args=[7, 10_000_000, f"m{i}"], client=replicas[i % 2])
        return int(reply[0])

    allowed = await asyncio.gather(*(one(i) for i in range(60)))
    assert sum(allowed) == 7
    assert await replicas[0].zcard(key) == 7
    ttl_ms = await replicas[0].pttl(key)
    assert 0 < ttl_ms <= 10_000


@pytest.mark.asyncio
async def test_store_script_trims_old_hits_and_sets_expiry(
    replicas: tuple[Redis, Redis], shared_redis: RedisConfig, prefix: str
) -> None:
    r = replicas[0]
    # three hits from long ago (server microseconds near the epoch) must not count
    await r.zadd(prefix + "k", {"old1": 1, "old2": 2, "old3": 3})
    limiter = RateLimiter(shared_redis, redis=r, prefix=prefix)
    got = [await limiter.hit("k", limit=3, window_s=5) for _ in range(4)]
    assert [g.allowed for g in got] == [True, True, True, False]
    assert [g.remaining for g in got] == [2, 1, 0, 0]
    assert got[0].retry_after_s == 0
    assert 0 < got[3].retry_after_s <= 5
    assert set(await r.zrange(prefix + "k", 0, -1)).isdisjoint({b"old1", b"old2", b"old3"})
    assert 0 < await r.pttl(prefix + "k") <= 5000


@pytest.mark.asyncio
async def test_store_script_reloaded_after_script_flush(
    replicas: tuple[Redis, Redis], shared_redis: RedisConfig, prefix: str
) -> None:
    limiter = RateLimiter(shared_redis, redis=replicas[0], prefix=prefix)
    assert (await limiter.hit("k", 2, 10)).allowed
    await replicas[0].script_flush()
    second = await limiter.hit("k", 2, 10)
    assert second.allowed and second.remaining == 0 and second.backend == "redis"


@pytest.mark.asyncio
async def test_store_window_slides_on_redis(shared_redis: RedisConfig, prefix: str) -> None:
    limiter = RateLimiter(shared_redis, prefix=prefix)
    try:
        assert (await limiter.hit("s", 2, 0.2)).allowed
        assert (await limiter.hit("s", 2, 0.2)).allowed
        refused = await limiter.hit("s", 2, 0.2)
        assert not refused.allowed
        await asyncio.sleep(refused.retry_after_s + 0.02)
        assert (await limiter.hit("s", 2, 0.2)).allowed
    finally:
        await close_redis()


def test_store_in_process_sliding_window_with_fake_clock() -> None:
    clock = FakeClock()
    lim = InProcessRateLimiter(clock)
    assert lim.hit("k", 2, 10).remaining == 1
    clock.now += 4
    assert lim.hit("k", 2, 10).remaining == 0
    refused = lim.hit("k", 2, 10)
    assert not refused.allowed and refused.retry_after_s == pytest.approx(6)
    clock.now += 6  # the first hit is now exactly window_s old: it no longer counts
    again = lim.hit("k", 2, 10)
    assert again.allowed and again.remaining == 0
    assert again.reset_after_s == pytest.approx(4)
    assert lim.hit("other", 2, 10).allowed  # keys are independent
    assert again.backend == "memory"


@pytest.mark.asyncio
async def test_store_in_process_exact_under_tasks_and_threads() -> None:
    limiter = RateLimiter(RedisConfig(url=None))
    results = await asyncio.gather(*(limiter.hit("k", 50, 60) for _ in range(200)))
    assert sum(r.allowed for r in results) == 50
    assert {r.backend for r in results} == {"memory"}
    assert limiter.degraded_reason == "redis not configured, using in-process limits"

    lim = InProcessRateLimiter()
    counts: list[int] = []

    def worker() -> None:
        counts.append(sum(lim.hit("t", 50, 60).allowed for _ in range(100)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 50


def test_store_in_process_forgets_idle_keys() -> None:
    clock = FakeClock()
    lim = InProcessRateLimiter(clock)
    for i in range(9_999):
        lim.hit(f"k{i}", 1, 1)
    clock.now += 2
    lim.hit("last", 1, 1)  # the 10,000th call sweeps
    assert list(lim._hits) == ["last"]


@pytest.mark.parametrize(("limit", "window"), [(0, 1.0), (5, 0.0), (5, float("nan"))])
def test_store_rejects_bad_limits(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        InProcessRateLimiter().hit("k", limit, window)
