"""Storing a finished backtest: orders, events, fills, decisions and audit in PostgreSQL,
bars, equity and metrics in ClickHouse (embedded PostgreSQL and chdb by default)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sigmax.backtest.runner import BacktestOutcome
from sigmax.storage.clickhouse_store import open_store
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import close_pools, get_pool
from sigmax.storage.repos.audit import AuditRepository
from sigmax.storage.repos.backtests import PersistedBacktest, backtest_account, persist_backtest


@dataclass(frozen=True)
class PersistSummary:
    """Where a backtest went and how many rows it wrote."""

    run_id: str
    postgres: PersistedBacktest
    audit_records: int
    equity_points: int
    timeseries_backend: str


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
        store.persist_backtest(outcome.result, run_id, metrics=outcome.metrics)
        backend = store.backend
    finally:
        store.close()
    return PersistSummary(run_id, written, audited, len(outcome.result.equity), backend)
