"""Order management and the venue (paper exchange) as a Ray actor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import ray

from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.execution.orders import OrderEvent
from sigmax.model import Bar, Fill, Order, OrderRequest


@ray.remote
class ExecutionActor:
    """Submits, cancels and fills orders; submission is idempotent by client order id."""

    def __init__(self, config_json: str) -> None:
        self.exchange = PaperExchange(PaperExchangeConfig.model_validate_json(config_json))

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        return self.exchange.submit(request, ts, reference_price=reference_price)

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        return self.exchange.cancel(client_order_id, ts)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self.exchange.open_orders(symbol)

    def order(self, client_order_id: str) -> Order:
        return self.exchange.order(client_order_id)

    def on_bar(self, bar: Bar) -> list[Fill]:
        if not self.exchange.has_open_orders(bar.symbol):
            return []
        return self.exchange.on_bar(bar)

    def events(self) -> list[OrderEvent]:
        return list(self.exchange.events)
