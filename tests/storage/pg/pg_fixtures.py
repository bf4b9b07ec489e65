"""Helpers for the PostgreSQL tests: the test server's DSN, throwaway schemas, configs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import asyncpg
from prometheus_client import CollectorRegistry

from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig

ADMIN_DSN = os.environ.get("SIGMAX_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _exec(sql: str) -> None:
    try:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"tests/storage/pg need PostgreSQL at {ADMIN_DSN} (set SIGMAX_TEST_POSTGRES_DSN): {exc}"
        ) from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def new_schema() -> str:
    name = f"sigmax_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_exec(f"CREATE SCHEMA {name}"))
    return name


def drop_schema(name: str) -> None:
    asyncio.run(_exec(f"DROP SCHEMA IF EXISTS {name} CASCADE"))


def make_config(schema: str, **overrides: object) -> PostgresConfig:
    values: dict[str, object] = {
        "dsn": ADMIN_DSN,
        "schema_name": schema,
        "pool_size": 2,
        "max_overflow": 2,
        "pool_timeout": 10.0,
    }
    values.update(overrides)
    return PostgresConfig(**values)  # type: ignore[arg-type]


@contextlib.contextmanager
def migrated_schema() -> Iterator[str]:
    """A throwaway schema with every migration applied, dropped on exit."""
    name = new_schema()

    async def run() -> None:
        config = make_config(name, pool_size=1, max_overflow=0)
        async with PostgresPool(config, registry=CollectorRegistry()) as pool:
            await migrate(pool)

    try:
        asyncio.run(run())
        yield name
    finally:
        drop_schema(name)
