"""The order state machine and the order manager that keeps every order and its history.

States and the moves between them (``TRANSITIONS``)::

    new ──► accepted ──► partially_filled ──► filled
     │         │  │            │  ▲ │
     │         │  │            └──┘ ├──► cancelled
     ▼         ▼  └──► filled       └──► expired
    rejected  cancelled / expired / rejected

``partially_filled → partially_filled`` is the move of each further partial fill.
Terminal states (filled, cancelled, rejected, expired) have no way out. Every move,
including the creation of an order (``from_status=None``), appends an
:class:`OrderEvent`, so a storage layer can persist each state change in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sigmax.execution.errors import (
    IllegalTransitionError,
    InvalidFillError,
    OrderConflictError,
    OverfillError,
    UnknownOrderError,
)
from sigmax.model import Fill, Order, OrderRequest, OrderStatus, quick_init

S = OrderStatus
_ZERO = Decimal(0)
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        S.NEW: frozenset({S.ACCEPTED, S.REJECTED}),
        S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.REJECTED}),
        S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
        S.FILLED: frozenset(),
        S.CANCELLED: frozenset(),
        S.REJECTED: frozenset(),
        S.EXPIRED: frozenset(),
    }
)


def can_transition(src: OrderStatus, dst: OrderStatus) -> bool:
    """Whether the state machine allows moving an order from ``src`` to ``dst``."""
    return dst in TRANSITIONS[src]


def check_transition(client_order_id: str, src: OrderStatus, dst: OrderStatus) -> None:
    """Raise :class:`IllegalTransitionError` unless ``src → dst`` is allowed."""
    if not can_transition(src, dst):
        raise IllegalTransitionError(
            f"order {client_order_id}: illegal transition {src.value} -> {dst.value}"
        )


@quick_init
@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One state change of one order, as it should be persisted."""

    client_order_id: str
    from_status: OrderStatus | None  # None: the order was created
    to_status: OrderStatus
    ts: datetime
    filled_qty: Decimal
    reason: str | None = None
    fill_id: str | None = None


def _require_aware(ts: datetime, what: str) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{what}: timestamp {ts.isoformat()} must be timezone-aware (UTC)")


class OrderManager:
    """Keeps orders by client order id and moves them through the state machine.

    Submission is idempotent: the same request under the same id returns the existing
    order. Every method validates before it changes anything, so a refused call leaves
    no trace. Getters return copies: the live orders change only through this class.
    """

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._notional: dict[str, Decimal] = {}
        self._expiry: dict[str, datetime | None] = {}
        self._fill_ids: set[str] = set()
        self._events: list[OrderEvent] = []
        # ids of the orders not in a terminal state, in submission order: a long run
        # keeps thousands of finished orders, and open_orders is asked every bar
        self._open: dict[str, None] = {}

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def __len__(self) -> int:
        return len(self._orders)

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """Every state change so far, oldest first."""
        return tuple(self._events)

    def events_since(self, index: int) -> tuple[OrderEvent, ...]:
        """The events after the first ``index`` ones (for incremental persistence)."""
        if index < 0:
            raise ValueError(f"events_since: index must be >= 0, got {index}")
        return tuple(self._events[index:])

    def submit(
        self, request: OrderRequest, ts: datetime, expire_ts: datetime | None = None
    ) -> Order:
        """Create a NEW order, or return the existing one for a repeated identical submit."""
        return self._submit(request, ts, expire_ts).copy()

    def create(
        self, request: OrderRequest, ts: datetime, expire_ts: datetime | None = None
    ) -> None:
        """:meth:`submit` for a caller that does not read the order back."""
        self._submit(request, ts, expire_ts)

    def _submit(self, request: OrderRequest, ts: datetime, expire_ts: datetime | None) -> Order:
        cid = request.client_order_id
        existing = self._orders.get(cid)
        if existing is not None:
            if existing.request != request or self._expiry[cid] != expire_ts:
                raise OrderConflictError(
                    f"order {cid}: client_order_id already used for a different order "
                    f"(existing {existing.request}, expiry {self._expiry[cid]}; "
                    f"new {request}, expiry {expire_ts})"
                )
            return existing
        if ts.tzinfo is None or ts.utcoffset() is None:
            _require_aware(ts, f"order {cid}")
        if expire_ts is not None:
            _require_aware(expire_ts, f"order {cid} expiry")
            if expire_ts <= ts:
                raise ValueError(
                    f"order {cid}: expiry {expire_ts.isoformat()} is not after "
                    f"submission {ts.isoformat()}"
                )
        order = Order(request, S.NEW, ts, ts)  # created and updated now
        self._orders[cid] = order
        self._open[cid] = None
        self._notional[cid] = Decimal(0)
        self._expiry[cid] = expire_ts
        self._events.append(OrderEvent(cid, None, S.NEW, ts, _ZERO))
        return order

    def restore(self, order: Order, fills: Sequence[Fill] = ()) -> None:
        """Put back an order persisted earlier (after a restart), with its fills.

        No event is recorded: the state changes happened, and were stored, before.
        A repeated restore of the same order is an error, never a silent overwrite.
        """
        cid = order.client_order_id
        if cid in self._orders:
            raise OrderConflictError(f"order {cid}: already present, cannot restore it again")
        filled = sum((f.qty for f in fills), start=Decimal(0))
        if filled != order.filled_qty:
            raise ValueError(
                f"order {cid}: its fills add up to {filled}, the order says {order.filled_qty}"
            )
        self._orders[cid] = order.copy()
        if not order.status.is_terminal:
            self._open[cid] = None
        self._notional[cid] = sum((f.qty * f.price for f in fills), start=Decimal(0))
        self._expiry[cid] = None
        self._fill_ids.update(f.fill_id for f in fills)

    def order(self, client_order_id: str) -> Order:
        """A copy of the order's current state."""
        return self._get(client_order_id).copy()

    def status(self, client_order_id: str) -> OrderStatus:
        """The order's current status (no copy of the order)."""
        return self._get(client_order_id).status

    def remaining_qty(self, client_order_id: str) -> Decimal:
        """The order's quantity not filled yet (no copy of the order)."""
        return self._get(client_order_id).remaining_qty

    def expiry(self, client_order_id: str) -> datetime | None:
        """When the order expires, if it was submitted with an expiry."""
        self._get(client_order_id)
        return self._expiry[client_order_id]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Copies of the orders not in a terminal state, in submission order."""
        if not self._open:
            return []
        orders = self._orders
        return [
            o.copy()
            for o in (orders[cid] for cid in self._open)
            if symbol is None or o.request.symbol == symbol
        ]

    def has_fill(self, fill_id: str) -> bool:
        """Whether a fill with this id was already applied."""
        return fill_id in self._fill_ids

    def activity(self) -> dict[str, Any]:
        """How many orders are in each status, and how many fills were applied."""
        by_status = Counter(o.status.value for o in self._orders.values())
        return {"orders_by_status": dict(sorted(by_status.items())), "fills": len(self._fill_ids)}

    def accept(
        self, client_order_id: str, ts: datetime, venue_order_id: str | None = None
    ) -> Order:
        """NEW → ACCEPTED: the venue took the order."""
        order = self._move(client_order_id, S.ACCEPTED, ts, None)
        if venue_order_id is not None:
            order.venue_order_id = venue_order_id
        return order.copy()

    def open(
        self,
        request: OrderRequest,
        ts: datetime,
        venue_order_id: str,
        expire_ts: datetime | None = None,
    ) -> Order:
        """:meth:`create` and :meth:`accept` in one step, for a venue that takes an order
        the moment it gets it: the same NEW and ACCEPTED events, in that order."""
        order = self._submit(request, ts, expire_ts)
        check_transition(order.client_order_id, order.status, S.ACCEPTED)
        order.venue_order_id = venue_order_id
        self._record(order, S.ACCEPTED, ts, None, None)
        return order.copy()

    def reject(self, client_order_id: str, ts: datetime, reason: str) -> Order:
        """→ REJECTED with the venue's reason."""
        return self._move(client_order_id, S.REJECTED, ts, reason).copy()

    def cancel(self, client_order_id: str, ts: datetime, reason: str = "cancelled") -> Order:
        """→ CANCELLED; whatever was filled stays filled."""
        return self._move(client_order_id, S.CANCELLED, ts, reason).copy()

    def expire(self, client_order_id: str, ts: datetime, reason: str = "expired") -> Order:
        """→ EXPIRED; whatever was filled stays filled."""
        return self._move(client_order_id, S.EXPIRED, ts, reason).copy()

    def expire_due(self, ts: datetime) -> list[Order]:
        """Expire every open order whose expiry is at or before ``ts``."""
        _require_aware(ts, "expire_due")
        due = [cid for cid in self._open if (exp := self._expiry[cid]) is not None and exp <= ts]
        return [self.expire(cid, ts, f"expired at {self._expiry[cid]}") for cid in due]

    def apply_fill(self, fill: Fill) -> Order:
        """Add one fill: filled quantity, exact VWAP and fees; status follows the quantity."""
        return self._apply_fill(fill).copy()

    def record_fill(self, fill: Fill) -> None:
        """:meth:`apply_fill` for a caller that does not read the order back."""
        self._apply_fill(fill)

    def _apply_fill(self, fill: Fill) -> Order:
        order = self._get(fill.client_order_id)
        cid = order.client_order_id
        self._validate_fill(order, fill)
        remaining = order.remaining_qty
        dst = S.FILLED if fill.qty >= remaining else S.PARTIALLY_FILLED
        check_transition(cid, order.status, dst)
        if fill.qty > remaining:
            raise OverfillError(
                f"order {cid}: fill {fill.fill_id} of {fill.qty} exceeds the remaining "
                f"{remaining} (ordered {order.request.qty}, filled {order.filled_qty})"
            )
        self._notional[cid] += fill.qty * fill.price
        order.filled_qty += fill.qty
        order.avg_fill_price = self._notional[cid] / order.filled_qty
        order.fees += fill.fee
        self._fill_ids.add(fill.fill_id)
        self._record(order, dst, fill.ts, None, fill.fill_id)
        return order

    def _validate_fill(self, order: Order, fill: Fill) -> None:
        cid = order.client_order_id
        if fill.ts.tzinfo is None or fill.ts.utcoffset() is None:
            _require_aware(fill.ts, f"fill {fill.fill_id}")
        if fill.fill_id in self._fill_ids:
            raise InvalidFillError(f"order {cid}: fill {fill.fill_id} was already applied")
        if fill.symbol != order.request.symbol or fill.side != order.request.side:
            raise InvalidFillError(
                f"order {cid}: fill {fill.fill_id} is {fill.side} {fill.symbol}, "
                f"order is {order.request.side} {order.request.symbol}"
            )
        if fill.qty <= 0 or fill.price <= 0:
            raise InvalidFillError(
                f"order {cid}: fill {fill.fill_id} needs qty > 0 and price > 0, "
                f"got qty {fill.qty} price {fill.price}"
            )

    def _get(self, client_order_id: str) -> Order:
        order = self._orders.get(client_order_id)
        if order is None:
            raise UnknownOrderError(f"no order with client_order_id {client_order_id!r}")
        return order

    def _move(self, cid: str, dst: OrderStatus, ts: datetime, reason: str | None) -> Order:
        order = self._get(cid)
        if ts.tzinfo is None or ts.utcoffset() is None:
            _require_aware(ts, f"order {cid}")
        check_transition(cid, order.status, dst)
        if reason is not None:
            order.reason = reason
        self._record(order, dst, ts, reason, None)
        return order

    def _record(
        self, order: Order, dst: OrderStatus, ts: datetime, reason: str | None, fill_id: str | None
    ) -> None:
        event = OrderEvent(
            order.client_order_id, order.status, dst, ts, order.filled_qty, reason, fill_id
        )
        order.status = dst
        order.updated_ts = ts
        if dst.is_terminal:
            self._open.pop(order.client_order_id, None)
        self._events.append(event)
