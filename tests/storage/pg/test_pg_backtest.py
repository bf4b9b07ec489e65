"""persist_backtest: a real small backtest round-trips to the cent."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sigmax.backtest.persist import persist_backtest
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.data import load_bars
from sigmax.model import OrderStatus
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.repositories import (
    BacktestRunRepository,
    DecisionRepository,
    FillRepository,
    OrderRepository,
    backtest_account,
)

CENT = Decimal("0.01")


@pytest.mark.asyncio
async def test_pg_persist_backtest_round_trip(pool: PostgresPool) -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:1500]
    outcome = run_backtest(
        BacktestRequest(data="bundled:BTC-USD-1h", strategy="sma_cross", progress=False),
        bars=bars,
    )
    result = outcome.result
    fills = [e.fill for e in result.entries]
    assert fills, "the backtest should trade"
    run_id = f"bt-{uuid.uuid4().hex[:8]}"

    written = await persist_backtest(result, run_id, pool=pool, metrics=outcome.metrics)
    again = await persist_backtest(result, run_id, pool=pool, metrics=outcome.metrics)
    assert again == written

    account = backtest_account(run_id)
    stored_fills = await FillRepository(pool).for_account(account)
    assert len(stored_fills) == len(fills)
    assert {f.fill_id: f for f in stored_fills} == {f.fill_id: f for f in fills}
    fees = sum((f.fee for f in stored_fills), Decimal(0))
    assert fees.quantize(CENT) == result.fees_paid.quantize(CENT)
    assert fees == result.fees_paid  # exact, not only to the cent
    # cash from the stored fills reconciles with the backtest's final equity
    cash = result.config.cash
    qty = Decimal(0)
    for f in stored_fills:
        cash -= f.side.sign * f.qty * f.price + f.fee
        qty += f.side.sign * f.qty
    last = Decimal(repr(float(bars.close[-1])))
    assert (cash + qty * last).quantize(CENT) == result.final_equity.quantize(CENT)

    orders = OrderRepository(pool)
    stored_orders = await orders.for_account(account)
    assert [o.client_order_id for o in stored_orders] == [o.client_order_id for o in result.orders]
    by_id = {o.client_order_id: o for o in stored_orders}
    for o in result.orders:
        assert by_id[o.client_order_id].filled_qty == o.filled_qty
        assert by_id[o.client_order_id].fees == o.fees
        assert by_id[o.client_order_id].status == o.status
    events = await orders.events(account)
    assert len(events) == written.events
    filled = [e for e in events if e.to_status is OrderStatus.FILLED]
    assert len(filled) == sum(o.status is OrderStatus.FILLED for o in result.orders)

    decisions = await DecisionRepository(pool).for_account(account, limit=100_000)
    assert len(decisions) == len(result.decisions)
    run = await BacktestRunRepository(pool).get(run_id)
    assert run is not None and run.status == "succeeded"
    assert run.metrics is not None and run.metrics["fees_paid"] == str(result.fees_paid)
    assert run.request["strategy"] == "sma_cross"
