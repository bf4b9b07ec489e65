"""The pool: timeouts, gauges, leak detection, recycling, health, sharing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import structlog
from prometheus_client import CollectorRegistry

from sigmax.storage.postgres import (
    DatabaseUnavailableError,
    PoolTimeoutError,
    PostgresPool,
    close_pools,
    get_pool,
)
from sigmax.storage.postgres_config import PostgresConfig
from tests.storage.pg.pg_fixtures import make_config


def _gauge(registry: CollectorRegistry, name: str) -> float:
    value = registry.get_sample_value(name, {"store": "postgres"})
    assert value is not None, name
    return value


async def _until(predicate: object, what: str) -> None:
    for _ in range(10_000):  # bounded by iterations, not by time
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.asyncio
async def test_pg_pool_exhaustion_times_out_then_recovers(pg_schema: str) -> None:
    registry = CollectorRegistry()
    config = make_config(pg_schema, pool_size=1, max_overflow=0, pool_timeout=0.2)
    async with PostgresPool(config, registry=registry) as pool:
        async with pool.acquire():
            with pytest.raises(PoolTimeoutError, match=r"0\.2s.*pool size 1 \+ overflow 0 = max 1"):
                async with pool.acquire():
                    pass
            assert _gauge(registry, "sigmax_pool_waiting") == 0
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        assert _gauge(registry, "sigmax_pool_in_use") == 0


@pytest.mark.asyncio
async def test_pg_gauges_follow_in_use_and_waiting(pg_schema: str) -> None:
    registry = CollectorRegistry()
    config = make_config(pg_schema, pool_size=1, max_overflow=0)
    async with PostgresPool(config, registry=registry) as pool:
        assert _gauge(registry, "sigmax_pool_size") == 1
        got = asyncio.Event()

        async def second() -> None:
            async with pool.acquire():
                got.set()

        async with pool.acquire():
            assert _gauge(registry, "sigmax_pool_in_use") == 1
            task = asyncio.create_task(second())
            await _until(lambda: _gauge(registry, "sigmax_pool_waiting") == 1, "a waiter")
            assert pool.stats()["waiting"] == 1
            assert not got.is_set()
        await task
        assert got.is_set()
        assert _gauge(registry, "sigmax_pool_waiting") == 0
        assert _gauge(registry, "sigmax_pool_in_use") == 0
        count = registry.get_sample_value(
            "sigmax_pool_acquire_seconds_count", {"store": "postgres"}
        )
        assert count == 2


@pytest.mark.asyncio
async def test_pg_leak_detection_logs_the_acquiring_stack(pg_schema: str) -> None:
    registry = CollectorRegistry()
    config = make_config(pg_schema, leak_threshold_s=0.01)

    async def hold_and_forget(pool: PostgresPool) -> tuple[list[str], float]:
        async with pool.acquire():
            await asyncio.sleep(0.05)  # well past the 0.01 s threshold
            return pool.check_leaks(), _gauge(registry, "sigmax_pool_held_too_long")

    with structlog.testing.capture_logs() as logs:
        async with PostgresPool(config, registry=registry) as pool:
            stacks, held_too_long = await hold_and_forget(pool)
            assert held_too_long == 1
    assert len(stacks) == 1 and "hold_and_forget" in stacks[0]
    assert "async with pool.acquire():" in stacks[0]  # formatted with its source lines
    leaks = [e for e in logs if e["event"] == "connection held too long"]
    assert len(leaks) == 1  # logged once, not once per check
    assert "hold_and_forget" in leaks[0]["acquired_at"]


@pytest.mark.asyncio
async def test_pg_statement_timeout_per_connection(pg_schema: str) -> None:
    config = make_config(pg_schema, statement_timeout_ms=50)
    pool = PostgresPool(config, registry=CollectorRegistry())
    async with pool, pool.acquire() as conn:
        assert await conn.fetchval("SHOW statement_timeout") == "50ms"
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SELECT pg_sleep(5)")
        assert await conn.fetchval("SELECT 2") == 2


@pytest.mark.asyncio
async def test_pg_connections_older_than_recycle_are_replaced(pg_schema: str) -> None:
    config = make_config(pg_schema, pool_size=1, max_overflow=0, pool_recycle=0.01)
    async with PostgresPool(config, registry=CollectorRegistry()) as pool:
        async with pool.acquire() as conn:
            first = conn.get_server_pid()
            await asyncio.sleep(0.05)  # older than pool_recycle when released
        async with pool.acquire() as conn:
            assert conn.get_server_pid() != first


@pytest.mark.asyncio
async def test_pg_health(pool: PostgresPool) -> None:
    health = await pool.health()
    assert health["reachable"] is True
    assert health["server_version"]
    assert health["latency_ms"] >= 0
    assert health["pool"]["max_size"] == 4
    bad = PostgresPool(
        PostgresConfig(dsn="postgresql://postgres@127.0.0.1:1/x", pool_timeout=2),
        registry=CollectorRegistry(),
    )
    health = await bad.health()
    assert health["reachable"] is False and "DatabaseUnavailableError" in health["error"]
    with pytest.raises(DatabaseUnavailableError, match="127.0.0.1:1"):
        await bad.open()


@pytest.mark.asyncio
async def test_pg_get_pool_is_shared_per_loop(pg_config: PostgresConfig) -> None:
    a, b = await asyncio.gather(get_pool(pg_config), get_pool(pg_config))
    assert a is b
    async with a.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    await close_pools()
    c = await get_pool(pg_config)
    assert c is not a
    await close_pools()


def test_pg_pool_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_POOL_SIZE", "7")
    monkeypatch.setenv("POSTGRES_MAX_OVERFLOW", "3")
    monkeypatch.setenv("SIGMAX_POSTGRES_POOL_TIMEOUT", "2.5")
    monkeypatch.setenv("POSTGRES_POOL_RECYCLE", "60")
    config = PostgresConfig()
    assert (config.min_size, config.max_size) == (7, 10)
    assert config.pool_timeout == 2.5 and config.pool_recycle == 60
    monkeypatch.setenv("SIGMAX_POSTGRES_POOL_SIZE", "4")
    assert PostgresConfig().pool_size == 4  # the SIGMAX_ name wins
    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", "mysql://u:secret@h/db")
    with pytest.raises(ValueError, match="postgresql://") as info:
        PostgresConfig()
    assert "secret" not in str(info.value)
