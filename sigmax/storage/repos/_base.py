"""Shared helpers of the repositories: connection-or-transaction, row conversions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sigmax.storage.postgres import Connection, PostgresPool


def backtest_account(run_id: str) -> str:
    """The account under which a backtest run's orders, fills and decisions are kept."""
    return f"backtest:{run_id}"


class Repository:
    """Base of the repositories: holds the pool; methods accept an open connection.

    Passing ``conn`` makes a call part of the caller's transaction; without it the
    call runs in its own transaction on a pooled connection.
    """

    def __init__(self, pool: PostgresPool) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def _tx(self, conn: Connection | None) -> AsyncIterator[Connection]:
        if conn is not None:
            async with conn.transaction():  # a savepoint inside the caller's transaction
                yield conn
        else:
            async with self.pool.transaction() as own:
                yield own

    @contextlib.asynccontextmanager
    async def _conn(self, conn: Connection | None) -> AsyncIterator[Connection]:
        if conn is not None:
            yield conn
        else:
            async with self.pool.acquire() as own:
                yield own
