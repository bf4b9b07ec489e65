"""Storing a finished backtest: orders, events, fills, decisions and audit in PostgreSQL,
bars, equity and metrics in ClickHouse (embedded PostgreSQL and chdb by default)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sigmax.backtest.engine import BacktestResult
from sigmax.backtest.metrics import curve_metrics, trade_metrics
from sigmax.backtest.runner import BacktestOutcome
from sigmax.execution.orders import OrderEvent
from sigmax.storage.clickhouse_store import TimeSeriesStore, flatten_metrics, open_store
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool, close_pools, get_pool
from sigmax.storage.repos import (
    AuditRepository,
    DecisionRepository,
    FillRepository,
    OrderRepository,
    backtest_account,
    events_from_orders,
)
from sigmax.storage.repos.backtests import json_safe


@dataclass(frozen=True, slots=True)
class PersistedBacktest:
    """What :func:`persist_backtest` wrote (rows given; replays store no duplicates)."""

    run_id: str
    account: str
    orders: int
    events: int
    fills: int
    decisions: int


@dataclass(frozen=True)
class PersistSummary:
    """Where a backtest went and how many rows it wrote."""

    run_id: str
    postgres: PersistedBacktest
    audit_records: int
    equity_points: int
    timeseries_backend: str


def backtest_request(result: BacktestResult) -> dict[str, Any]:
    bars = result.bars
    return {
        "strategy": result.strategy,
        "params": json_safe(result.params),
        "symbol": bars.symbol,
        "timeframe": bars.timeframe,
        "bars": len(bars),
        "cash": str(result.config.cash),
    }


async def persist_backtest(
    result: BacktestResult,
    run_id: str,
    *,
    pool: PostgresPool | None = None,
    events: Sequence[OrderEvent] | None = None,
    metrics: Mapping[str, Any] | None = None,
    request: Mapping[str, Any] | None = None,
) -> PersistedBacktest:
    """Write a backtest's run row, orders, order events, fills and decisions atomically.

    Rows go under the account ``backtest:<run_id>``. ``events`` should be the
    PaperExchange's ``events`` when the caller has them; otherwise they are rebuilt
    from the orders and fills (:func:`events_from_orders`). Persisting the same run
    twice stores nothing new.
    """
    pool = pool if pool is not None else await get_pool()
    account = backtest_account(run_id)
    fills = [entry.fill for entry in result.entries]
    if events is None:
        events = events_from_orders(result.orders, fills)
    summary = {
        **(json_safe(metrics) if metrics is not None else {}),
        # the ledger's exact figures win over float metrics of the same name
        "final_equity": str(result.final_equity),
        "fees_paid": str(result.fees_paid),
        "realized_pnl": str(result.realized_pnl),
        "risk_state": result.risk_state,
    }
    async with pool.transaction() as conn:
        await conn.execute(
            "INSERT INTO backtest_runs (run_id, status, request, metrics, finished_at)"
            " VALUES ($1, 'succeeded', $2, $3, now()) ON CONFLICT (run_id) DO UPDATE SET"
            " status = 'succeeded', metrics = EXCLUDED.metrics, error = NULL,"
            " finished_at = now()",
            run_id,
            json_safe(request) if request is not None else backtest_request(result),
            summary,
        )
        await OrderRepository(pool).save_many(result.orders, events, account, run_id, conn=conn)
        await FillRepository(pool).insert_many_copy(fills, account, run_id, conn=conn)
        await DecisionRepository(pool).insert_many(result.decisions, account, run_id, conn=conn)
    return PersistedBacktest(
        run_id, account, len(result.orders), len(events), len(fills), len(result.decisions)
    )


def persist_timeseries(
    store: TimeSeriesStore,
    result: BacktestResult,
    run_id: str,
    metrics: Mapping[str, object] | None = None,
) -> None:
    """Write a run's bars, equity curve and metrics to ``store``; doing it twice changes
    nothing.

    ``metrics`` defaults to the curve and trade metrics of the run; nested
    dicts (e.g. ``buy_and_hold``) are stored as dotted names, non-numbers skipped.
    Metrics are stamped with the run's last bar time.
    """
    if metrics is None:
        cash = float(result.config.cash)
        metrics = {**curve_metrics(result.equity, cash, result.bars), **trade_metrics(result)}
    store.insert_bars(result.bars, source=f"backtest:{run_id}")
    store.insert_equity(run_id, result.bars.ts, result.equity, result.position)
    store.insert_metrics(run_id, flatten_metrics(metrics), ts=int(result.bars.ts[-1]))


async def _to_postgres(outcome: BacktestOutcome, run_id: str) -> tuple[PersistedBacktest, int]:
    pool = await get_pool()
    try:
        await migrate(pool)
        result = outcome.result
        written = await persist_backtest(
            result,
            run_id,
            pool=pool,
            events=result.events,
            metrics=outcome.metrics,
            request=outcome.document["meta"],
        )
        audit = AuditRepository(pool)
        stream = backtest_account(run_id)
        stored = await audit.records(stream)
        if stored and [r.hash for r in stored] != [r.hash for r in result.audit[: len(stored)]]:
            raise ValueError(f"backtest {run_id}: the stored audit trail differs from this run's")
        await audit.append_many(result.audit[len(stored) :], stream=stream)
        return written, len(result.audit)
    finally:
        await close_pools()


def persist_outcome(outcome: BacktestOutcome, run_id: str) -> PersistSummary:
    """Write a backtest to both stores; each store's write is idempotent for a run id."""
    written, audited = asyncio.run(_to_postgres(outcome, run_id))
    store = open_store()
    try:
        store.migrate()
        persist_timeseries(store, outcome.result, run_id, metrics=outcome.metrics)
        backend = store.backend
    finally:
        store.close()
    return PersistSummary(run_id, written, audited, len(outcome.result.equity), backend)
