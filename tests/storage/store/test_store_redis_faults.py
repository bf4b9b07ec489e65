"""Redis dies and comes back: limiter and cache fall back, say so once, and return."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from sigmax.storage.cache import Cache
from sigmax.storage.rate_limit import RateLimiter
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import close_redis, health

from .conftest import RedisServer


@pytest.mark.asyncio
async def test_store_fallback_when_redis_dies_and_return_when_it_is_back(
    redis_server: RedisServer,
) -> None:
    config = RedisConfig(
        url=redis_server.url, retry_redis_after_s=0, socket_timeout_s=0.5, connect_timeout_s=0.5
    )
    limiter = RateLimiter(config)
    cache = Cache(config)
    try:
        assert (await limiter.hit("k", 3, 60)).backend == "redis"
        await cache.set("c", "on redis", ttl_s=60)
        assert cache.backend == "redis"
        assert (await health(config)).status == "ok"

        redis_server.kill()
        with capture_logs() as logs:
            hits = [await limiter.hit("k", 3, 60) for _ in range(5)]
            await cache.set("c", "in memory", ttl_s=60)
            assert await cache.get("c") == "in memory"
        assert {h.backend for h in hits} == {"memory"}
        assert [h.allowed for h in hits] == [True, True, True, False, False]
        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert sorted(w["component"] for w in warnings) == ["cache", "rate_limit"]
        h = await health(config)
        assert not h.reachable and h.status == "degraded"
        assert h.reason is not None
        assert "degraded: redis unreachable, using in-process limits" in h.reason
        assert "redis unreachable, using in-process cache" in h.reason
        assert limiter.degraded_reason == "redis unreachable, using in-process limits"

        redis_server.start()  # same port, empty data
        back = await limiter.hit("k", 3, 60)
        assert back.backend == "redis" and back.remaining == 2
        assert await cache.get("c") is None and cache.backend == "redis"
        h = await health(config)
        assert h.reachable and h.status == "ok" and h.reason is None
        assert limiter.degraded_reason is None and cache.degraded_reason is None
    finally:
        await close_redis()


@pytest.mark.asyncio
async def test_store_degraded_guard_waits_before_trying_redis_again(
    redis_server: RedisServer,
) -> None:
    config = RedisConfig(url=redis_server.url, retry_redis_after_s=3600)
    limiter = RateLimiter(config)
    try:
        assert (await limiter.hit("k", 5, 60)).backend == "redis"
        redis_server.kill()
        assert (await limiter.hit("k", 5, 60)).backend == "memory"
        redis_server.start()
        # Redis is back, but the limiter keeps to its fallback until the retry time
        assert (await limiter.hit("k", 5, 60)).backend == "memory"
        assert (await health(config)).reachable
        assert limiter.degraded_reason == "redis unreachable, using in-process limits"
    finally:
        await close_redis()
