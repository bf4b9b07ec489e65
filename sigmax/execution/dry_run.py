"""A dry-run venue: the exchange's real markets and balances, orders never sent.

Each order is checked against the exchange's market rules (precision, minimum amount
and notional, read through ccxt once) and, when it fits, recorded as a would-be order
that fills like the paper exchange's at the next bar (:meth:`DryRunVenue.on_bar`).
Would-be orders carry a venue order id starting ``dry-run:`` so they can never be
mistaken for orders on the exchange. The ccxt client's order-sending methods are
replaced by a guard that raises, so nothing can reach the exchange even by mistake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

import ccxt

from sigmax.execution.ccxt_venue import CcxtVenue, OrderCheck
from sigmax.execution.config import CcxtVenueConfig, PaperExchangeConfig
from sigmax.execution.credentials import CredentialsProvider
from sigmax.execution.errors import UnknownOrderError, VenueError
from sigmax.execution.orders import OrderEvent, OrderManager
from sigmax.execution.paper import PaperExchange
from sigmax.model import Bar, Fill, Order, OrderRequest

DRY_RUN_PREFIX = "dry-run:"
_SENDING = ("create_order", "create_orders", "cancel_order", "cancel_all_orders", "edit_order")


class DryRunVenue:
    """An :class:`~sigmax.execution.venue.ExecutionVenue` that reads and never sends."""

    dry_run = True

    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: CredentialsProvider | None = None,
        paper: PaperExchangeConfig | None = None,
        *,
        exchange_class: type[ccxt.Exchange] | None = None,
    ) -> None:
        self._reader = CcxtVenue(config, credentials, exchange_class=exchange_class)
        exchange = self._reader._exchange
        for name in _SENDING:
            setattr(exchange, name, _refuse_to_send(name))
        self._paper = PaperExchange(paper)
        self._refused = OrderManager()  # orders that do not fit the market rules

    def __repr__(self) -> str:
        return f"DryRunVenue({self._reader!r})"

    def prepare(self, request: OrderRequest, reference_price: Decimal | None = None) -> OrderCheck:
        """Fit ``request`` to the exchange's real market rules (see CcxtVenue.prepare)."""
        return self._reader.prepare(request, reference_price)

    def balances(self) -> dict[str, Decimal]:
        """The account's real balances (read only; needs credentials)."""
        return self._reader.balances()

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        """Record a would-be order; one that does not fit the market rules is REJECTED."""
        cid = request.client_order_id
        if cid in self._refused:
            return self._refused.submit(request, ts)
        if self._paper.find_order(cid) is None:
            check = self._reader.prepare(request, reference_price)
            if check.request != request:
                self._refused.submit(request, ts)
                reason = check.reason or "; ".join(check.adjustments)
                return self._refused.reject(cid, ts, f"dry run: does not fit the market: {reason}")
        return _mark(self._paper.submit(request, ts, reference_price))

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        return _mark(self._paper.cancel(client_order_id, ts))

    def order(self, client_order_id: str) -> Order:
        if client_order_id in self._refused:
            return self._refused.order(client_order_id)
        found = self._paper.find_order(client_order_id)
        if found is None:
            raise UnknownOrderError(f"no dry-run order with client_order_id {client_order_id!r}")
        return _mark(found)

    def find_order(self, client_order_id: str) -> Order | None:
        """The would-be (or refused) order, None for an id never submitted."""
        if client_order_id in self._refused:
            return self._refused.order(client_order_id)
        found = self._paper.find_order(client_order_id)
        return _mark(found) if found is not None else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [_mark(o) for o in self._paper.open_orders(symbol)]

    def has_open_orders(self, symbol: str) -> bool:
        return self._paper.has_open_orders(symbol)

    def event_logs(self) -> tuple[tuple[OrderEvent, ...], ...]:
        """The state changes of the would-be orders and of the refused ones, each log
        oldest first (two logs: a caller persists each from where it left off)."""
        return (self._paper.events, self._refused.events)

    def on_bar(self, bar: Bar) -> list[Fill]:
        """The would-be fills of the open would-be orders on this bar (paper's rules)."""
        return self._paper.on_bar(bar)

    def restore(self, orders: Sequence[Order], fills: Sequence[Fill]) -> None:
        """Put back the would-be orders and fills persisted before a restart."""
        self._paper.restore(orders, fills)

    def activity(self) -> dict[str, Any]:
        return {"dry_run": True, **self._paper.activity()}


def _mark(order: Order) -> Order:
    venue_id = order.venue_order_id
    if venue_id is not None and not venue_id.startswith(DRY_RUN_PREFIX):
        return dataclasses.replace(order, venue_order_id=DRY_RUN_PREFIX + venue_id)
    return order


def _refuse_to_send(name: str) -> Any:
    def guard(*_: Any, **__: Any) -> NoReturn:
        raise VenueError(f"dry run: {name} is disabled, nothing is sent to the exchange")

    return guard
