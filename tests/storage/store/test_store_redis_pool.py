"""The process-wide Redis pool: one per loop, instrumented, leak detection, health, config."""

from __future__ import annotations

import asyncio

import pytest

from sigmax.storage import redis_store
from sigmax.storage.rate_limit import RateLimiter
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import check_leaks, close_redis, get_redis, health


@pytest.mark.asyncio
async def test_store_one_shared_pool_per_loop_and_exact_limits_through_it(
    shared_redis: RedisConfig, prefix: str
) -> None:
    config = shared_redis.model_copy(update={"max_connections": 5})
    try:
        client = get_redis(config)
        assert client is not None and get_redis(config) is client
        limiters = [RateLimiter(config, prefix=prefix) for _ in range(2)]
        results = await asyncio.gather(*(limiters[i % 2].hit("k", 50, 60) for i in range(200)))
        assert sum(r.allowed for r in results) == 50
        assert {r.backend for r in results} == {"redis"}
        pool = client.connection_pool
        assert isinstance(pool, redis_store._InstrumentedPool)
        assert 1 <= pool.open_connections <= 5
        assert pool.instruments.in_use == 0
    finally:
        await close_redis()


@pytest.mark.asyncio
async def test_store_connection_held_too_long_is_reported(shared_redis: RedisConfig) -> None:
    await close_redis()
    config = shared_redis.model_copy(update={"leak_after_s": 0.005})
    try:
        client = get_redis(config)
        assert client is not None
        conn = await client.connection_pool.get_connection()
        await asyncio.sleep(0.02)
        stacks = check_leaks()
        assert len(stacks) == 1
        assert "test_store_connection_held_too_long_is_reported" in stacks[0]
        await client.connection_pool.release(conn)
        assert check_leaks() == []
    finally:
        await close_redis()
        redis_store._instruments.leak_after_s = RedisConfig().leak_after_s


@pytest.mark.asyncio
async def test_store_health_reports_server(shared_redis: RedisConfig) -> None:
    try:
        h = await health(shared_redis)
        assert h.configured and h.reachable and h.status == "ok"
        assert h.server_version is not None and h.server_version[0].isdigit()
        assert h.latency_ms is not None and h.latency_ms > 0
        assert h.pool_size >= 1 and h.in_use == 0
    finally:
        await close_redis()


@pytest.mark.asyncio
async def test_store_not_configured_means_in_process() -> None:
    config = RedisConfig(url=None)
    assert get_redis(config) is None
    h = await health(config)
    assert not h.configured and h.fallback_active and h.status == "degraded"
    assert h.reason == "redis not configured, using in-process fallbacks"


def test_store_get_redis_outside_a_loop_is_a_clear_error(shared_redis: RedisConfig) -> None:
    with pytest.raises(RuntimeError, match="must be called from a coroutine"):
        get_redis(shared_redis)


def test_store_redis_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_REDIS_URL", "redis://example:6380/2")
    monkeypatch.setenv("REDIS_MAX_CONNECTIONS", "7")
    config = RedisConfig()
    assert config.url == "redis://example:6380/2" and config.max_connections == 7
    monkeypatch.delenv("REDIS_MAX_CONNECTIONS")
    monkeypatch.setenv("SIGMAX_REDIS_MAX_CONNECTIONS", "9")
    assert RedisConfig().max_connections == 9
    monkeypatch.delenv("SIGMAX_REDIS_MAX_CONNECTIONS")
    assert RedisConfig().max_connections == 50
    assert RedisConfig(max_connections=3).max_connections == 3
    with pytest.raises(ValueError, match="frozen"):
        config.url = None  # type: ignore[misc]
