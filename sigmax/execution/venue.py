"""The interface every execution venue offers: the paper exchange and live exchanges alike."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from sigmax.model import Order, OrderRequest


@runtime_checkable
class ExecutionVenue(Protocol):
    """Where orders go. Submission is idempotent by ``client_order_id``."""

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        """Send an order (or return the existing one for a repeated client_order_id).

        ``ts`` is the decision time; ``reference_price`` the price the decision was
        taken at, carried on every fill so slippage can be monitored.
        """
        ...

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        """Cancel an open order; whatever was filled stays filled."""
        ...

    def order(self, client_order_id: str) -> Order:
        """The order's current state."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders not yet in a terminal state, optionally of one symbol."""
        ...
