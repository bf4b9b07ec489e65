"""A backtest lands in the stores with no configuration: orders, fills, decisions and
audit in embedded PostgreSQL; bars, equity and metrics in embedded chdb."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from sigmax.backtest.persist import persist_outcome
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.data import load_bars
from sigmax.storage.clickhouse_store import open_store
from sigmax.storage.embedded_postgres import stop_embedded_postgres
from sigmax.storage.postgres import close_pools, get_pool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repos.audit import AuditRepository


async def _pg_rows(run_id: str) -> dict[str, object]:
    pool = await get_pool()
    account = f"backtest:{run_id}"
    try:
        async with pool.acquire() as conn:
            counts = {
                table: await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE account = $1", account
                )
                for table in ("orders", "fills", "decisions", "order_events")
            }
            counts["fees"] = await conn.fetchval(
                "SELECT coalesce(sum(fee), 0) FROM fills WHERE account = $1", account
            )
            counts["signals"] = await conn.fetchval(
                "SELECT jsonb_array_length(signals) FROM decisions WHERE account = $1 LIMIT 1",
                account,
            )
        counts["audit_verified"] = await AuditRepository(pool).verify(account)
        return counts
    finally:
        await close_pools()


@pytest.mark.slow
def test_backtest_persists_to_embedded_postgres_and_chdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_HOME", str(tmp_path))
    for var in ("SIGMAX_POSTGRES_DSN", "SIGMAX_CLICKHOUSE_URL"):
        monkeypatch.delenv(var, raising=False)
    bars = load_bars("bundled:BTC-USD-1h")[:2500]
    request = BacktestRequest(data="bundled:BTC-USD-1h", strategy="sigmax", progress=False)
    outcome = run_backtest(request, backtest_risk_config(), bars=bars)
    result = outcome.result
    assert len(result.entries) > 10

    embedded = PostgresConfig()  # the embedded server of this test's SIGMAX_HOME
    try:
        _persist_and_check(outcome, bars, tmp_path)
    finally:
        stop_embedded_postgres(embedded)


def _persist_and_check(outcome, bars, tmp_path: Path) -> None:
    result = outcome.result
    summary = persist_outcome(outcome, "persist-test")
    again = persist_outcome(outcome, "persist-test")  # idempotent: nothing doubles
    assert again.postgres == summary.postgres

    rows = asyncio.run(_pg_rows("persist-test"))
    assert rows["orders"] == len(result.orders)
    assert rows["fills"] == len(result.entries)
    assert rows["decisions"] == len(result.decisions)
    assert rows["order_events"] == len(result.events)
    assert rows["signals"] == 5
    assert Decimal(rows["fees"]) == result.fees_paid  # exact, to the last digit
    assert rows["audit_verified"] == len(result.audit)
    assert (tmp_path / "postgres").is_dir()

    store = open_store()
    try:
        equity = store.load_equity("persist-test")
        metrics = store.load_metrics("persist-test")
        stored_bars = store.load_bars("BTC/USD", "1h")
    finally:
        store.close()
    assert len(equity) == len(bars)
    assert equity["equity"].iloc[-1] == pytest.approx(result.equity[-1], abs=1e-9)
    assert metrics["sharpe"] == pytest.approx(outcome.metrics["sharpe"])
    assert len(stored_bars) == len(bars)
    assert (tmp_path / "clickhouse").is_dir()
