"""Helpers for the PostgreSQL tests: the test server's DSN, throwaway schemas, configs."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg

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
