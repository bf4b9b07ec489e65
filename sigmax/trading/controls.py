"""Operator controls that act on the whole book: stop a session, kill, and panic.

Both run through small ports, like :mod:`sigmax.trading.manual`: in-process the ports
are the domain objects, on Ray the actor-backed ports of ``actors.ports``, so the
orders pass the same single-writer risk actor as every other order.

* stop: pause with cause ``stopped`` (the session makes no decisions until resumed),
  then cancel every open order; positions are kept.
* kill (after the risk engine's kill switch): cancel every open order; positions kept.
* panic: pause with cause ``panic`` first (so nothing new opens while it works; a
  killed engine stays killed), cancel every open order, then close every position
  with a reduce-only market order that passes the risk engine's emergency path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sigmax.execution.errors import ExecutionError
from sigmax.model import Order, OrderRequest, OrderType, RiskVerdict, Side
from sigmax.risk.context import RiskContext
from sigmax.risk.state import STOPPED, RiskStateError
from sigmax.trading.rebalance import OrderVenue


class ControlRiskPort(Protocol):
    def pause(self, reason: str, *, operator: str, cause: str) -> Any: ...
    def emergency_check(
        self, order: OrderRequest, ctx: RiskContext, operator: str
    ) -> RiskVerdict: ...


ControlVenuePort = OrderVenue  # submit, cancel, open orders: what a control needs


@dataclass(frozen=True, slots=True)
class Refused:
    """A position panic could not close, and why."""

    symbol: str
    qty: Decimal
    reason: str


@dataclass
class ControlResult:
    """What a control action did: orders cancelled, orders sent, positions refused."""

    action: str
    cancelled: list[Order] = field(default_factory=list)
    sent: list[Order] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def audit_details(self) -> dict[str, Any]:
        """A JSON-able summary for the audit trail."""
        return {
            "cancelled": [o.client_order_id for o in self.cancelled],
            "sent": [
                {
                    "client_order_id": o.client_order_id,
                    "symbol": o.request.symbol,
                    "side": o.request.side.value,
                    "qty": str(o.request.qty),
                    "status": o.status.value,
                }
                for o in self.sent
            ],
            "refused": [
                {"symbol": r.symbol, "qty": str(r.qty), "reason": r.reason} for r in self.refused
            ],
            "notes": list(self.notes),
        }


def stop_trading(
    risk: ControlRiskPort, venue: ControlVenuePort, ts: datetime, operator: str, reason: str
) -> ControlResult:
    """Stop the session: no new decisions (cause ``stopped``), open orders cancelled,
    positions kept. A killed engine stays killed; the orders are cancelled anyway."""
    result = ControlResult("stop")
    _pause(risk, result, f"session stopped by {operator}: {reason}", operator, STOPPED)
    _cancel_all(venue, ts, result)
    return result


def cancel_after_kill(venue: ControlVenuePort, ts: datetime) -> ControlResult:
    """What follows the kill switch (which already rejects every new order): every open
    order is cancelled at the venue, so none can still fill; positions are kept (panic
    closes them)."""
    result = ControlResult("kill")
    _cancel_all(venue, ts, result)
    return result


def panic(
    risk: ControlRiskPort,
    venue: ControlVenuePort,
    positions: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    equity: Decimal,
    ts: datetime,
    operator: str,
    id_prefix: str,
) -> ControlResult:
    """Pause, cancel every open order and close every position (signed qty by symbol)
    with a reduce-only market order through the emergency path, decided at ``prices``
    at ``ts``. Order ids are ``{id_prefix}-{n}``."""
    result = ControlResult("panic")
    _pause(risk, result, f"panic by {operator}: flatten everything", operator, "panic")
    _cancel_all(venue, ts, result)
    notionals = {s: q * prices[s] for s, q in positions.items() if s in prices}
    held = sorted((s, q) for s, q in positions.items() if q != 0)
    for n, (symbol, qty) in enumerate(held, start=1):
        price = prices.get(symbol)
        if price is None or price <= 0:
            result.refused.append(Refused(symbol, qty, "no market price to close it at"))
            continue
        request = OrderRequest(
            client_order_id=f"{id_prefix}-{n}",
            symbol=symbol,
            side=Side.SELL if qty > 0 else Side.BUY,
            qty=abs(qty),
            type=OrderType.MARKET,
            reduce_only=True,
        )
        ctx = RiskContext(ts, price, qty, notionals, equity, reference_price=price)
        verdict = risk.emergency_check(request, ctx, operator)
        if not verdict.approved:
            result.refused.append(Refused(symbol, qty, verdict.reason))
            continue
        result.sent.append(venue.submit(request, ts, reference_price=price))
    return result


def _pause(
    risk: ControlRiskPort, result: ControlResult, reason: str, operator: str, cause: str
) -> None:
    try:
        risk.pause(reason, operator=operator, cause=cause)
    except RiskStateError as exc:  # killed: stronger than a pause, keep it
        result.notes.append(f"not paused: {exc}")


def _cancel_all(venue: ControlVenuePort, ts: datetime, result: ControlResult) -> None:
    for order in venue.open_orders():
        try:
            result.cancelled.append(venue.cancel(order.client_order_id, ts))
        except ExecutionError as exc:  # filled or cancelled meanwhile: say so, go on
            result.notes.append(f"cancel {order.client_order_id}: {exc}")
