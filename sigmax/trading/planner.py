"""From a wanted position to the order that reaches it, and the context risk judges it in.

Backtest, paper and live trading all size and describe orders here, so an order
means the same thing wherever it was decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from sigmax.model import OrderRequest, OrderType, Side, TimeInForce, to_decimal
from sigmax.risk import RiskContext
from sigmax.strategies.base import TargetUnit


@dataclass(frozen=True, slots=True)
class SizingRules:
    """Lot size and the smallest order worth sending."""

    qty_step: Decimal = Decimal("0.00000001")
    min_order_notional: Decimal = Decimal(0)


def target_qty(
    want: float, unit: TargetUnit, equity: float, price: float, step: Decimal
) -> Decimal:
    """The position (base units, rounded towards zero to ``step``) that ``want`` means."""
    qty = want if unit == "qty" else want * equity / price
    return round_down(to_decimal(float(qty)), step)


def plan_order(
    client_order_id: str,
    symbol: str,
    held: Decimal,
    wanted: Decimal,
    price: Decimal,
    rules: SizingRules,
) -> OrderRequest | None:
    """The market order moving ``held`` to ``wanted``; None when there is nothing to do."""
    delta = wanted - held
    if delta == 0 or abs(delta) * price < rules.min_order_notional:
        return None
    after = held + delta
    shrinks = held != 0 and abs(after) < abs(held) and after * held >= 0
    side = Side.BUY if delta > 0 else Side.SELL
    # positional (no prices, good till cancelled): an order per rebalance, a hot path
    return OrderRequest(
        client_order_id,
        symbol,
        side,
        abs(delta),
        OrderType.MARKET,
        None,
        None,
        TimeInForce.GTC,
        shrinks,
    )


def risk_context(
    ts: datetime,
    symbol: str,
    price: Decimal,
    held: Decimal,
    equity: float | Decimal,
    positions_notional: dict[str, Decimal] | None = None,
) -> RiskContext:
    """What the risk engine needs to judge an order on ``symbol`` decided at ``price``."""
    notional = dict(positions_notional) if positions_notional else {}
    notional[symbol] = held * price
    exact_equity = equity if isinstance(equity, Decimal) else to_decimal(equity)
    # ts, last price, position, book, equity, reference price (positional: a hot path)
    return RiskContext(ts, price, held, notional, exact_equity, price)


def round_down(qty: Decimal, step: Decimal) -> Decimal:
    """Round towards zero to a multiple of ``step`` (never trade more than wanted)."""
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step
