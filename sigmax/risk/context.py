"""What the risk engine needs to know about the market and book when it checks an order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sigmax.model import OrderRequest, Side, quick_init

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def datetime_to_ns(ts: datetime) -> int:
    """Exact int nanoseconds since the epoch of a timezone-aware datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no timezone; use UTC")
    return ((ts - _EPOCH) // _ONE_US) * 1000


def ns_to_datetime(ts_ns: int) -> datetime:
    """UTC datetime (microsecond precision) of int nanoseconds since the epoch."""
    return _EPOCH + timedelta(0, 0, int(ts_ns) // 1000)  # positional: see model.ts_from_ns


@quick_init
@dataclass(frozen=True, slots=True)
class RiskContext:
    """Market and book state at the moment an order is checked.

    ``ts`` is the (possibly simulated) clock; ``position_qty`` is the signed position
    in the order's symbol; ``positions_notional`` the signed marked notional of every
    symbol held; ``reference_price`` the price the decision was made at (used by the
    fat-finger band for market orders; defaults to ``last_price``).
    """

    ts: datetime
    last_price: Decimal
    position_qty: Decimal
    positions_notional: Mapping[str, Decimal]
    equity: Decimal
    reference_price: Decimal | None = field(default=None)

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError(f"risk context: ts {self.ts.isoformat()} has no timezone")
        if self.last_price <= 0:
            raise ValueError(f"risk context: last_price must be > 0, got {self.last_price}")
        if self.reference_price is not None and self.reference_price <= 0:
            raise ValueError(
                f"risk context: reference_price must be > 0, got {self.reference_price}"
            )

    @property
    def ts_ns(self) -> int:
        return datetime_to_ns(self.ts)


@quick_init
@dataclass(frozen=True, slots=True)
class OrderImpact:
    """An order's effect on the book, computed once and shared by every rule.

    Exposures are marked at the last price; ``order_price`` is the price the order
    would trade at (limit, else stop, else the reference price).
    """

    order: OrderRequest
    ctx: RiskContext
    order_price: Decimal
    order_notional: Decimal
    pre_qty: Decimal
    post_qty: Decimal
    pre_notional: Decimal
    post_notional: Decimal

    @property
    def shrinks_position(self) -> bool:
        """True when the order only reduces the position, never flipping it."""
        pre = self.pre_qty
        return pre != 0 and (pre > 0) != (self.order.side.sign > 0) and self.order.qty <= abs(pre)


def order_price(order: OrderRequest, ctx: RiskContext) -> Decimal:
    """The price the order would trade at: limit, then stop, then the reference price."""
    if order.limit_price is not None:
        return order.limit_price
    if order.stop_price is not None:
        return order.stop_price
    return ctx.reference_price if ctx.reference_price is not None else ctx.last_price


def order_impact(order: OrderRequest, ctx: RiskContext) -> OrderImpact:
    """Compute the pre/post-trade position and notionals of ``order`` under ``ctx``."""
    price = order_price(order, ctx)
    qty, held, last = order.qty, ctx.position_qty, ctx.last_price
    signed_qty = qty if order.side is Side.BUY else -qty
    pre_notional = ctx.positions_notional.get(order.symbol)
    if pre_notional is None:
        pre_notional = held * last
    return OrderImpact(
        order,
        ctx,
        price,
        qty * price,
        held,
        held + signed_qty,
        pre_notional,
        pre_notional + signed_qty * last,
    )
