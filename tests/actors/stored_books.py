"""What the fault tests share: a throwaway PostgreSQL schema per module (the ``schema``
fixture, made available to tests/actors by its conftest), a config reaching it through a
:class:`~tests.actors.tcp_proxy.TcpProxy`, and what a session left in PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigmax.model import Fill, Order
from sigmax.storage.postgres import close_pools, get_pool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repos.books import DecisionRepository
from sigmax.storage.repos.orders import FillRepository, OrderRepository
from sigmax.storage.repos.proposals import ProposalRepository

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage" / "pg"))
from pg_fixtures import ADMIN_DSN, drop_schema, make_config, new_schema  # noqa: E402

__all__ = [
    "drop_schema",
    "make_config",
    "new_schema",
    "proxied",
    "schema",
    "stored",
    "stored_decisions",
    "stored_proposals",
    "stored_trades",
]


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    """A private PostgreSQL schema on the shared server, dropped after the module."""
    name = new_schema()
    try:
        yield name
    finally:
        drop_schema(name)


def proxied(schema: str, port: int) -> PostgresConfig:
    """``schema`` on the shared server, reached through a proxy listening on ``port``."""
    return make_config(schema, dsn=ADMIN_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{port}"))


async def _load(config: PostgresConfig, read: Any) -> Any:
    pool = await get_pool(config)
    try:
        return await read(pool)
    finally:
        await close_pools()


def stored(config: PostgresConfig, account: str) -> tuple[list[Order], list[Fill]]:
    """The account's stored orders and fills."""

    async def read(pool: Any) -> tuple[list[Order], list[Fill]]:
        return (
            await OrderRepository(pool).for_account(account),
            await FillRepository(pool).for_account(account),
        )

    result: tuple[list[Order], list[Fill]] = asyncio.run(_load(config, read))
    return result


def stored_decisions(config: PostgresConfig, account: str) -> list[Any]:
    """The account's stored decisions."""

    async def read(pool: Any) -> list[Any]:
        return await DecisionRepository(pool).for_account(account)

    result: list[Any] = asyncio.run(_load(config, read))
    return result


def stored_proposals(config: PostgresConfig, account: str) -> tuple[list[Any], list[Order]]:
    """The account's stored proposals (the last 1,000) and orders."""

    async def read(pool: Any) -> tuple[list[Any], list[Order]]:
        return (
            await ProposalRepository(pool).recent(account, limit=1_000),
            await OrderRepository(pool).for_account(account),
        )

    result: tuple[list[Any], list[Order]] = asyncio.run(_load(config, read))
    return result


def stored_trades(
    config: PostgresConfig, account: str, session_id: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The account's orders (client id, filled qty) and fills (client id, qty, price),
    client ids less their session prefix, sorted: comparable across sessions."""
    orders, fills = stored(config, account)
    own = [(o.client_order_id.removeprefix(session_id), o.filled_qty) for o in orders]
    traded = [(f.client_order_id.removeprefix(session_id), f.qty, f.price) for f in fills]
    return sorted(own), sorted(traded)
