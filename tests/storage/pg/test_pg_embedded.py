"""The embedded server: reuse of its data, and a restart while a pool is open."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from sigmax.model import Order, OrderRequest, OrderStatus, Side
from sigmax.storage.embedded_postgres import (
    EmbeddedPostgres,
    ensure_embedded_postgres,
    stop_embedded_postgres,
)
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import DatabaseUnavailableError, PostgresPool, close_pools, get_pool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repositories import OrderRepository

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _order(cid: str) -> Order:
    request = OrderRequest(cid, "ETH-USD", Side.SELL, Decimal("0.123456789012345678"))
    return Order(request=request, status=OrderStatus.NEW, created_ts=T0, updated_ts=T0)


def _pool(dsn: str) -> PostgresPool:
    config = PostgresConfig(dsn=dsn, pool_size=2, max_overflow=0, pool_timeout=5)
    return PostgresPool(config, registry=CollectorRegistry())


def test_pg_embedded_second_start_reuses_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"

    async def write(dsn: str) -> None:
        async with _pool(dsn) as pool:
            await migrate(pool)
            await OrderRepository(pool).insert_new(_order("kept"), "paper")

    async def read(dsn: str) -> Order | None:
        async with _pool(dsn) as pool:
            assert await migrate(pool) == []  # schema is still there
            return await OrderRepository(pool).get("paper", "kept")

    with EmbeddedPostgres(data_dir) as server:
        assert server.owned
        asyncio.run(write(server.dsn))
        initialised = (data_dir / "PG_VERSION").stat().st_mtime_ns
    assert not server.is_running()

    with EmbeddedPostgres(data_dir) as again:
        stored = asyncio.run(read(again.dsn))
    assert (data_dir / "PG_VERSION").stat().st_mtime_ns == initialised  # no second initdb
    assert stored is not None and stored.request.qty == Decimal("0.123456789012345678")


@pytest.mark.asyncio
async def test_pg_embedded_restart_mid_run(embedded: EmbeddedPostgres) -> None:
    async with _pool(embedded.dsn) as pool:
        await migrate(pool)
        repo = OrderRepository(pool)
        await repo.insert_new(_order("before"), "paper")
        # a connection taken before the outage: its write fails loudly (asyncpg's error
        # inside the block becomes DatabaseUnavailableError when it leaves the block)
        with pytest.raises(DatabaseUnavailableError, match="not committed"):
            async with pool.transaction() as held:
                await asyncio.to_thread(embedded.stop)
                embedded.owned = True
                await held.execute(
                    "INSERT INTO risk_events (account, ts, kind, message)"
                    " VALUES ('paper', now(), 'x', 'lost?')"
                )
        # a write during the outage: refused, not dropped silently
        with pytest.raises(DatabaseUnavailableError):
            await repo.insert_new(_order("during"), "paper")
        health = await pool.health()
        assert health["reachable"] is False

        await asyncio.to_thread(embedded.start)
        # the very next write after the restart works on the same pool
        _stored, created = await repo.insert_new(_order("after"), "paper")
        assert created
        ids = [o.client_order_id for o in await repo.for_account("paper")]
        assert sorted(ids) == ["after", "before"]  # "during" was never stored
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM risk_events") == 0
        assert (await pool.health())["reachable"] is True


@pytest.mark.asyncio
async def test_pg_get_pool_without_dsn_starts_embedded(tmp_path: Path) -> None:
    config = PostgresConfig(
        dsn=None, embedded_data_dir=tmp_path / "home" / "postgres", pool_size=1, max_overflow=0
    )
    try:
        pool = await get_pool(config)
        health = await pool.health()
        assert health["reachable"] is True
        assert health["server_version"].startswith("18")
        assert ensure_embedded_postgres(config) == pool.dsn
    finally:
        await close_pools()
        await asyncio.to_thread(stop_embedded_postgres, config)
