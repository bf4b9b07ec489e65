"""The rebalance step: from a symbol's wanted position to an order at the venue.

Backtests (one symbol or a portfolio) and trading sessions (paper or live) all move
a symbol towards its target through :func:`rebalance`, in this order:

1. cancel the symbol's working orders that the caller placed (a new target replaces what
   it asked before; an operator's orders are left alone);
2. size the wanted position from the target, its unit and the symbol's weight;
3. plan the order that moves the book there (none when there is nothing to do), and
   fit it to the market's rules when the venue can (``prepare``: a live venue's amount
   and price precision, minimum amount and notional); one that cannot meet them is
   refused with the reason, as a verdict of rule ``market``, before risk sees it;
4. show it to the caller (``on_planned``: record the decision, publish a proposal);
5. check it with the risk engine, the whole book in view;
6. send it when risk approves (to the venue, or wherever ``send`` puts it).

A venue error (and, when the caller asks, an order-level error such as a client order
id already used for another order) stops the step where it happened and comes back in
the outcome, so the caller decides what a failed cancel or submit means for its target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sigmax.execution.ccxt_venue import OrderCheck
from sigmax.execution.errors import ExecutionError, VenueError
from sigmax.model import Order, OrderRequest, RiskCheck, RiskVerdict, quick_init
from sigmax.risk import RiskContext
from sigmax.strategies.base import TargetUnit
from sigmax.trading.planner import SizingRules, plan_order, risk_context, target_qty


class OrderVenue(Protocol):
    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order: ...
    def cancel(self, client_order_id: str, ts: datetime) -> Order: ...
    def open_orders(self, symbol: str | None = None) -> list[Order]: ...


class MarketRules(Protocol):
    """A venue's optional capability: fit an order to its market's rules (precision,
    minimum amount and notional), or say why it cannot be sent. Paper and backtest
    venues do not offer it; their orders go as planned."""

    def prepare(self, request: OrderRequest, reference_price: Decimal | None) -> OrderCheck: ...


class OrderRisk(Protocol):
    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict: ...


# Where an approved order goes: the venue's submit by default; a proposal desk in
# approval mode. Takes the order, risk's verdict, the decision time and the mark;
# returns the venue's order, or None when nothing reached a venue.
Send = Callable[[OrderRequest, RiskVerdict, datetime, Decimal], Order | None]


@quick_init
@dataclass(frozen=True, slots=True)
class Target:
    """What one symbol should hold, and the book it is decided against."""

    client_order_id: str
    symbol: str
    want: float  # the strategy's target, in ``unit``
    unit: TargetUnit
    held: Decimal  # the symbol's position now
    price: Decimal  # the mark the target is decided at (the bar's close)
    equity: float  # the account's equity at that mark
    ts: datetime  # when the order is decided (the bar's close time)
    weight: float = 1.0  # the symbol's share of equity; scales equity-fraction wants
    book: dict[str, Decimal] | None = None  # every symbol's signed notional, for risk
    own_prefix: str = ""  # the caller's order ids start with it: only those are cancelled


@quick_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """What the step did: the order it planned, risk's verdict, what the venue holds,
    and the venue error that stopped it (``failed`` says at which stage)."""

    request: OrderRequest | None = None
    verdict: RiskVerdict | None = None
    placed: Order | None = None
    error: ExecutionError | None = None
    failed: str = ""  # "cancel working orders" or "submit <id>" when error is set


def wanted_qty(target: Target, sizing: SizingRules) -> Decimal:
    """The position ``target`` asks for, in base units rounded towards zero."""
    want = target.want if target.unit == "qty" else target.want * target.weight
    return target_qty(want, target.unit, target.equity, float(target.price), sizing.qty_step)


def cancel_working(venue: OrderVenue, symbol: str, ts: datetime, own_prefix: str = "") -> None:
    """Cancel the working orders of ``symbol`` whose ids start with ``own_prefix`` at
    ``ts`` (every one when the prefix is empty: a backtest owns its whole venue)."""
    for working in venue.open_orders(symbol):
        if working.client_order_id.startswith(own_prefix):
            venue.cancel(working.client_order_id, ts)


def rebalance(
    target: Target,
    sizing: SizingRules,
    venue: OrderVenue,
    risk: OrderRisk,
    on_planned: Callable[[OrderRequest], None] | None = None,
    send: Send | None = None,
    order_errors: bool = False,
) -> Outcome:
    """Move ``target.symbol`` towards its target: cancel, size, plan, check, send.

    A :class:`VenueError` comes back in the outcome; with ``order_errors`` so does any
    order-level :class:`ExecutionError` (a trading session records it and goes on; a
    backtest leaves it raised, where it can only be a bug)."""
    contained: type[ExecutionError] = ExecutionError if order_errors else VenueError
    try:
        cancel_working(venue, target.symbol, target.ts, target.own_prefix)
    except contained as exc:
        return Outcome(error=exc, failed="cancel working orders")
    request = plan_order(
        target.client_order_id,
        target.symbol,
        target.held,
        wanted_qty(target, sizing),
        target.price,
        sizing,
    )
    if request is None:
        return Outcome()
    prepare = getattr(venue, "prepare", None)  # MarketRules; not isinstance: backtest hot path
    if prepare is not None:
        try:
            check: OrderCheck = prepare(request, target.price)
        except contained as exc:
            return Outcome(request, error=exc, failed=f"prepare {request.client_order_id}")
        if check.request is None:  # refused with the reason, before risk sees it
            reason = check.reason or "does not fit the market's rules"
            return Outcome(request, RiskVerdict(False, (RiskCheck("market", False, reason),)))
        request = check.request
    if on_planned is not None:
        on_planned(request)
    ctx = risk_context(
        target.ts, target.symbol, target.price, target.held, target.equity, target.book
    )
    verdict = risk.check(request, ctx)
    if not verdict.approved:
        return Outcome(request, verdict)
    try:
        if send is not None:
            placed = send(request, verdict, target.ts, target.price)
        else:
            placed = venue.submit(request, target.ts, reference_price=target.price)
    except contained as exc:
        return Outcome(request, verdict, error=exc, failed=f"submit {request.client_order_id}")
    return Outcome(request, verdict, placed)
