"""Backtest runs (request, status, metrics) and the order events that final orders
and fills imply."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sigmax.execution.orders import OrderEvent
from sigmax.model import Fill, Order, OrderStatus
from sigmax.storage.postgres import Connection, RecordNotFoundError
from sigmax.storage.repos._base import Repository

S = OrderStatus
RUN_STATUSES = ("running", "succeeded", "failed")


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """One stored backtest run: its request, status and metrics."""

    run_id: str
    status: str
    request: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (JSON has no NaN/inf)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return json_safe(value.item())
    return value


def _run(row: Any) -> BacktestRun:
    return BacktestRun(
        row["run_id"],
        row["status"],
        row["request"],
        row["metrics"],
        row["error"],
        row["started_at"],
        row["finished_at"],
    )


class BacktestRunRepository(Repository):
    """Backtest runs: started, then finished with metrics (or failed with an error)."""

    async def start(
        self, run_id: str, request: Mapping[str, Any], conn: Connection | None = None
    ) -> BacktestRun:
        if not run_id:
            raise ValueError("backtest run: run_id must not be empty")
        async with self._conn(conn) as c:
            row = await c.fetchrow(
                "INSERT INTO backtest_runs (run_id, request) VALUES ($1, $2) RETURNING *",
                run_id,
                json_safe(request),
            )
        return _run(row)

    async def finish(
        self,
        run_id: str,
        status: str = "succeeded",
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        conn: Connection | None = None,
    ) -> BacktestRun:
        if status not in RUN_STATUSES[1:]:
            raise ValueError(f"backtest run {run_id}: finish status must be succeeded or failed")
        async with self._conn(conn) as c:
            row = await c.fetchrow(
                "UPDATE backtest_runs SET status = $2, metrics = $3, error = $4,"
                " finished_at = now() WHERE run_id = $1 RETURNING *",
                run_id,
                status,
                None if metrics is None else json_safe(metrics),
                error,
            )
        if row is None:
            raise RecordNotFoundError(f"backtest run {run_id}: no such run")
        return _run(row)

    async def get(self, run_id: str) -> BacktestRun | None:
        async with self._conn(None) as c:
            row = await c.fetchrow("SELECT * FROM backtest_runs WHERE run_id = $1", run_id)
        return None if row is None else _run(row)


def events_from_orders(orders: Sequence[Order], fills: Sequence[Fill]) -> list[OrderEvent]:
    """Rebuild state changes from final orders and their fills, when the exchange's own
    event list is not at hand: created, accepted, one event per fill, then the final
    cancel/expiry (or created → rejected)."""
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for f in fills:
        by_order[f.client_order_id].append(f)
    events: list[OrderEvent] = []
    for o in orders:
        cid = o.client_order_id
        events.append(OrderEvent(cid, None, S.NEW, o.created_ts, Decimal(0)))
        if o.status is S.NEW:
            continue
        if o.status is S.REJECTED and o.filled_qty == 0:
            events.append(OrderEvent(cid, S.NEW, S.REJECTED, o.updated_ts, Decimal(0), o.reason))
            continue
        events.append(OrderEvent(cid, S.NEW, S.ACCEPTED, o.created_ts, Decimal(0)))
        prev, cum = S.ACCEPTED, Decimal(0)
        for f in by_order.get(cid, ()):
            cum += f.qty
            dst = S.FILLED if cum >= o.request.qty else S.PARTIALLY_FILLED
            events.append(OrderEvent(cid, prev, dst, f.ts, cum, None, f.fill_id))
            prev = dst
        if o.status in (S.CANCELLED, S.EXPIRED, S.REJECTED):
            events.append(OrderEvent(cid, prev, o.status, o.updated_ts, cum, o.reason))
    return events
