"""Order management and the venue (paper exchange) as a Ray actor.

With a PostgreSQL config (a PostgresConfig as JSON), every order state change and
fill is written to PostgreSQL before the call returns, and a restarted actor
rebuilds its orders from there. A call retried after a restart is answered from
the stored state (submit is idempotent by client order id; a bar already filled
returns its stored fills), so nothing is lost or done twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import ray

from actors.persistence import actor_pool
from actors.session_metrics import record_activity
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.execution.orders import OrderEvent
from sigmax.model import Bar, Fill, Order, OrderRequest
from sigmax.storage.repos.runtime import ExecutionStateRepository
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class ExecutionActor:
    """Submits, cancels and fills orders of one account; persists before it answers."""

    def __init__(self, config_json: str, account: str, postgres: str | None = None) -> None:
        self.exchange = PaperExchange(PaperExchangeConfig.model_validate_json(config_json))
        self.account = account
        self.postgres = postgres
        self._repo: ExecutionStateRepository | None = None
        self._persisted_events = 0
        self._restored_fills: dict[datetime, list[Fill]] = {}

    async def _ready(self) -> None:
        if self.postgres is None or self._repo is not None:
            return
        repo = ExecutionStateRepository(await actor_pool(self.postgres))
        orders, fills = await repo.load(self.account)
        self.exchange.restore(orders, fills)
        record_activity(self.exchange.activity())
        for fill in fills:
            self._restored_fills.setdefault(fill.ts, []).append(fill)
        self._repo = repo

    async def _persist(self, touched: set[str], fills: list[Fill]) -> None:
        if self._repo is None:
            return
        events = self.exchange.events[self._persisted_events :]
        touched |= {e.client_order_id for e in events}
        orders = [self.exchange.order(cid) for cid in sorted(touched)]
        await self._repo.save(self.account, orders, events, fills)
        self._persisted_events += len(events)

    async def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        await self._ready()
        order = self.exchange.submit(request, ts, reference_price=reference_price)
        await self._persist({order.client_order_id}, [])
        record_activity(self.exchange.activity())
        return order

    async def cancel(self, client_order_id: str, ts: datetime) -> Order:
        await self._ready()
        order = self.exchange.cancel(client_order_id, ts)
        await self._persist({client_order_id}, [])
        record_activity(self.exchange.activity())
        return order

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        await self._ready()
        return self.exchange.open_orders(symbol)

    async def order(self, client_order_id: str) -> Order:
        await self._ready()
        return self.exchange.order(client_order_id)

    async def find_order(self, client_order_id: str) -> Order | None:
        await self._ready()
        return self.exchange.find_order(client_order_id)

    async def on_bar(self, bar: Bar) -> list[Fill]:
        await self._ready()
        if bar.ts in self._restored_fills:  # a retried call: this bar was filled before
            return self._restored_fills.pop(bar.ts)
        fills = self.exchange.on_bar(bar) if self.exchange.has_open_orders(bar.symbol) else []
        await self._persist({f.client_order_id for f in fills}, fills)
        if fills:
            record_activity(self.exchange.activity())
        return fills

    async def on_bars(self, bars: list[Bar]) -> list[Fill]:
        """The fills of every symbol's new bar of one step: one call for a portfolio."""
        fills = []
        for bar in bars:
            fills += await self.on_bar(bar)
        return fills

    async def activity(self) -> dict[str, Any]:
        await self._ready()
        return self.exchange.activity()

    async def events(self) -> list[OrderEvent]:
        await self._ready()
        return list(self.exchange.events)
