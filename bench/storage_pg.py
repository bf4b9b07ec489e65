"""PostgreSQL storage benchmark: bulk fill inserts (COPY vs executemany) and pool latency.

    .venv/bin/python bench/storage_pg.py [--dsn postgresql://postgres@127.0.0.1:5432/test]

Works in a throwaway schema that is dropped at the end. Prints rows/s for 50,000 fills
through ``FillRepository.insert_many_copy`` and ``insert_many_executemany`` (both
idempotent, into the migrated ``fills`` table with its keys), and the acquire latency
(p50/p99) of 50 concurrent tasks on a pool of size 10.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from prometheus_client import CollectorRegistry

from sigmax.model import Fill, Liquidity, Order, OrderRequest, OrderStatus, Side
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repositories import FillRepository, OrderRepository

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _fills(n: int, orders: int) -> list[Fill]:
    return [
        Fill(
            f"f-{i}",
            f"o-{i % orders}",
            "BTC-USD",
            Side.BUY,
            Decimal("0.00123"),
            Decimal("65000.12") + i,
            Decimal("0.0800015"),
            T0 + timedelta(seconds=i),
            Liquidity.TAKER,
            Decimal("65000"),
        )
        for i in range(n)
    ]


async def _bulk(pool: PostgresPool, n: int) -> dict[str, float]:
    orders = 500
    repo = OrderRepository(pool)
    results: dict[str, float] = {}
    fills = _fills(n, orders)
    for method in ("copy", "executemany"):
        account = f"bench-{method}"
        for i in range(orders):
            request = OrderRequest(f"o-{i}", "BTC-USD", Side.BUY, Decimal(1000))
            await repo.insert_new(Order(request, OrderStatus.ACCEPTED, T0, T0), account)
        fill_repo = FillRepository(pool)
        started = time.perf_counter()
        if method == "copy":
            await fill_repo.insert_many_copy(fills, account)
        else:
            await fill_repo.insert_many_executemany(fills, account)
        results[method] = n / (time.perf_counter() - started)
    return results


async def _latency(config: PostgresConfig, tasks: int, rounds: int) -> list[float]:
    samples: list[float] = []
    async with PostgresPool(config, registry=CollectorRegistry()) as pool:

        async def worker() -> None:
            for _ in range(rounds):
                started = time.perf_counter()
                async with pool.acquire() as conn:
                    samples.append(time.perf_counter() - started)
                    await conn.fetchval("SELECT 1")

        await asyncio.gather(*(worker() for _ in range(tasks)))
    return samples


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main(dsn: str, n: int) -> None:
    schema = f"sigmax_bench_{uuid.uuid4().hex[:8]}"
    config = PostgresConfig(dsn=dsn, schema_name=schema, pool_size=10, max_overflow=0)
    try:
        async with PostgresPool(config, registry=CollectorRegistry()) as pool:
            await migrate(pool)
            rates = await _bulk(pool, n)
        print(f"bulk insert of {n:,} fills (idempotent, keyed table):")
        for method, rate in rates.items():
            print(f"  {method:<12} {rate:>10,.0f} rows/s")
        print(f"  COPY / executemany = {rates['copy'] / rates['executemany']:.1f}x")
        samples = await _latency(config, tasks=50, rounds=40)
        p50, p99 = _pct(samples, 50), _pct(samples, 99)
        print(f"pool acquire, 50 tasks on pool size 10 ({len(samples):,} acquires):")
        print(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms   p99/p50 = {p99 / p50:.1f}x")
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.rows))
