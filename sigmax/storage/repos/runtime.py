"""What stateful actors persist to come back after a restart: execution books, risk
state and how far the session got."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sigmax.execution.orders import OrderEvent
from sigmax.model import Fill, Order
from sigmax.risk.audit_record import AuditRecord
from sigmax.storage.repos._base import Repository
from sigmax.storage.repos.audit import AuditRepository
from sigmax.storage.repos.orders import FillRepository, OrderRepository


class ExecutionStateRepository(Repository):
    """Orders, their events and fills of one account, written together."""

    async def save(
        self,
        account: str,
        orders: Sequence[Order],
        events: Sequence[OrderEvent],
        fills: Sequence[Fill],
    ) -> None:
        """One transaction: every order's state, its new events, the new fills."""
        orders_repo, fills_repo = OrderRepository(self.pool), FillRepository(self.pool)
        async with self.pool.transaction() as conn:
            for order in orders:
                own = [e for e in events if e.client_order_id == order.client_order_id]
                await orders_repo.save(order, own, account=account, conn=conn)
            for fill in fills:
                await fills_repo.insert(fill, account, conn=conn)

    async def load(self, account: str) -> tuple[list[Order], list[Fill]]:
        orders = await OrderRepository(self.pool).for_account(account)
        fills = await FillRepository(self.pool).for_account(account)
        return orders, fills


class RiskStateRepository(Repository):
    """The risk engine's snapshot and its audit records, per account."""

    async def save(
        self, account: str, snapshot: dict[str, Any], new_records: Sequence[AuditRecord]
    ) -> None:
        async with self.pool.transaction() as conn:
            await AuditRepository(self.pool).append_many(new_records, stream=account, conn=conn)
            await conn.execute(
                "INSERT INTO risk_state (account, snapshot, updated_at) VALUES ($1, $2, now())"
                " ON CONFLICT (account) DO UPDATE SET snapshot = EXCLUDED.snapshot,"
                " updated_at = now()",
                account,
                snapshot,
            )

    async def load(self, account: str) -> tuple[dict[str, Any] | None, list[AuditRecord]]:
        async with self.pool.acquire() as conn:
            snapshot = await conn.fetchval(
                "SELECT snapshot FROM risk_state WHERE account = $1", account
            )
        records = await AuditRepository(self.pool).records(account)
        return snapshot, records


class SessionProgressRepository(Repository):
    """The last step a session processed and the targets it last acted on, per account
    (``acted_target`` is the first symbol's; ``acted_targets`` every symbol's)."""

    async def save(
        self,
        account: str,
        last_bar_ts: int,
        acted_target: float,
        acted_targets: Mapping[str, float] | None = None,
    ) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO session_progress"
                " (account, last_bar_ts, acted_target, acted_targets, updated_at)"
                " VALUES ($1, $2, $3, $4::jsonb, now()) ON CONFLICT (account) DO UPDATE SET"
                " last_bar_ts = EXCLUDED.last_bar_ts, acted_target = EXCLUDED.acted_target,"
                " acted_targets = EXCLUDED.acted_targets, updated_at = now()",
                account,
                last_bar_ts,
                acted_target,
                json.dumps(dict(acted_targets or {}), sort_keys=True),
            )

    async def load(self, account: str) -> tuple[int, float, dict[str, float]] | None:
        """(last step ts in ns, first symbol's acted target, every symbol's), or None for
        a session not started yet."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT last_bar_ts, acted_target, acted_targets FROM session_progress"
                " WHERE account = $1",
                account,
            )
        if row is None:
            return None
        targets = {str(k): float(v) for k, v in json.loads(row["acted_targets"]).items()}
        return int(row["last_bar_ts"]), float(row["acted_target"]), targets
