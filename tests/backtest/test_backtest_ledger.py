"""Money reconciles: cash, positions, fees and P&L of a backtest add up to the cent."""

from __future__ import annotations

from decimal import Decimal

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.model import Side, to_decimal

CENT = Decimal("0.01")


def test_backtest_books_reconcile(btc_1h_small) -> None:
    request = BacktestRequest(
        data="in-memory",
        strategy="sma_cross",
        params={"fast": "8", "slow": "21", "size": "0.3"},
        cash=Decimal("10000"),
        fee_bps=Decimal("7.5"),
        progress=False,
    )
    outcome = run_backtest(request, backtest_risk_config(), bars=btc_1h_small)
    result = outcome.result
    fills = [e.fill for e in result.entries]
    assert len(fills) > 10

    cash = request.cash
    qty = Decimal(0)
    for fill in fills:
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        assert fill.fee == fill.qty * fill.price * Decimal("7.5") / Decimal(10_000)
        cash -= signed * fill.price + fill.fee
        qty += signed
    last = to_decimal(float(btc_1h_small.close[-1]))
    assert result.final_equity == cash + qty * last
    assert result.fees_paid == sum((f.fee for f in fills), start=Decimal(0))

    unrealized = (last - _avg_entry(fills)) * qty if qty else Decimal(0)
    pnl = result.realized_pnl + unrealized - result.fees_paid
    assert abs((result.final_equity - request.cash) - pnl) < CENT
    assert abs(float(result.final_equity) - result.equity[-1]) < 0.01


def _avg_entry(fills) -> Decimal:
    """Average price of the position still open at the end (entries after the last flat)."""
    qty, cost = Decimal(0), Decimal(0)
    for fill in fills:
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        if qty == 0 or (qty > 0) == (signed > 0):
            cost += signed * fill.price
            qty += signed
        else:
            avg = cost / qty
            qty += signed
            cost = avg * qty
    return cost / qty if qty else Decimal(0)
