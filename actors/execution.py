"""Order management and the venue (paper exchange) as a Ray actor.

With a PostgreSQL config (a PostgresConfig as JSON), every order state change and
fill is written to PostgreSQL before the call returns, and a restarted actor
rebuilds its orders from there. A call retried after a restart is answered from
the stored state (submit is idempotent by client order id; a bar already filled
returns its stored fills), so nothing is lost or done twice.

The venue is the paper exchange unless a :class:`~sigmax.execution.config.VenueConfig`
(``Settings.venue`` as JSON) names another: ``dry-run`` (real markets read, nothing
sent, fills paper-style on the bars) or ``ccxt:EXCHANGE`` (a
:class:`~sigmax.execution.ccxt_venue.CcxtVenue`), built by
:func:`~sigmax.execution.venue_factory.build_venue` with the credentials of
:class:`~sigmax.credentials.venue.VenueCredentials` (the stored credential of
``VenueConfig.credentials``, else Vault KV ``exchanges/<name>``, else
``SIGMAX_EXCHANGE_<NAME>_API_KEY`` / ``_SECRET``). On a ccxt venue:

- a new order is stored NEW before it is sent (write-ahead); a call retried after a
  restart finds it NEW and looks it up by its client order id before sending: one
  order per decision;
- fills come from the venue (polled with ``sync`` once a step), are stored before they
  are returned, and fills that came with a submit or cancel reply are stored with it
  and handed out with the next step's;
- every exchange error is counted by the risk actor's error-burst trigger (an error
  that reaches the session is counted there, once); a refusal (insufficient funds,
  invalid order) is a REJECTED order with the exchange's reason;
- :meth:`ExecutionActor.reconcile` compares the venue's account with the stored books
  at the start of a session (see :mod:`sigmax.execution.reconcile`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ray

from actors.persistence import actor_pool
from actors.session_metrics import record_activity
from sigmax.credentials.venue import VenueCredentials
from sigmax.execution import PaperExchange, PaperExchangeConfig, VenueConfig, build_venue
from sigmax.execution.ccxt_venue import CcxtVenue, OrderCheck
from sigmax.execution.errors import ExecutionError
from sigmax.execution.orders import OrderEvent
from sigmax.execution.venue_check import VenueBooks, check_venue
from sigmax.model import Bar, Fill, Order, OrderRequest
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repos.runtime import ExecutionStateRepository
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class ExecutionActor:
    """Submits, cancels and fills orders of one account; persists before it answers."""

    def __init__(
        self,
        config_json: str,
        account: str,
        postgres: str | None = None,
        venue_json: str | None = None,
        risk: Any = None,
    ) -> None:
        paper = PaperExchangeConfig.model_validate_json(config_json)
        self.venue_config = (
            VenueConfig.model_validate_json(venue_json) if venue_json else VenueConfig()
        )
        self.live = self.venue_config.kind != "paper"  # dry-run or ccxt: see _ready
        self.exchange: Any = None if self.live else PaperExchange(paper)
        self._paper_config = paper
        self.account = account
        self.postgres = postgres
        self._risk = risk  # the risk actor: counts the venue's errors
        self._repo: ExecutionStateRepository | None = None
        self._persisted_events = 0
        self._restored_fills: dict[datetime, list[Fill]] = {}
        self._errors: list[str] = []  # the venue's errors since the last call
        self._persisted_logs: list[int] = []  # a live venue's events stored, per log
        self._pending: list[Fill] = []  # stored, not yet handed to the session

    async def _ready(self) -> None:
        if self.exchange is None:
            # built here, not in __init__: a refused venue fails the call (with
            # build_venue's message), not the actor's creation over and over
            self.exchange = build_venue(
                self.venue_config,
                paper=self._paper_config,
                credentials=VenueCredentials(
                    self.venue_config.ccxt_exchange_id,
                    PostgresConfig.model_validate_json(self.postgres) if self.postgres else None,
                ),
                on_error=self._errors.append,
            )
            self._persisted_logs = [len(log) for log in _event_logs(self.exchange)]
        if self.postgres is None or self._repo is not None:
            return
        repo = ExecutionStateRepository(await actor_pool(self.postgres))
        orders, fills = await repo.load(self.account)
        self.exchange.restore(orders, fills)
        record_activity(self.exchange.activity())
        for fill in fills:
            self._restored_fills.setdefault(fill.ts, []).append(fill)
        if isinstance(self.exchange, CcxtVenue):
            self._persisted_logs = [len(log) for log in _event_logs(self.exchange)]
            # a call that stored fills may have died before it answered: hand the
            # recent ones out again (the books and risk take each fill id once)
            recent = datetime.now(UTC) - REDELIVER_WINDOW
            self._pending = [f for f in fills if f.ts >= recent][-REDELIVER_MAX:]
        self._repo = repo

    async def _persist(self, touched: set[str], fills: list[Fill]) -> None:
        if self.live:
            return await self._persist_live(touched, fills)
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
        if self.live:
            return await self._live_submit(request, ts, reference_price)
        order: Order = self.exchange.submit(request, ts, reference_price=reference_price)
        await self._persist({order.client_order_id}, [])
        record_activity(self.exchange.activity())
        return order

    async def cancel(self, client_order_id: str, ts: datetime) -> Order:
        await self._ready()
        if self.live:
            cancelled: Order = await self._live_call(
                {client_order_id}, lambda: self.exchange.cancel(client_order_id, ts)
            )
            return cancelled
        order: Order = self.exchange.cancel(client_order_id, ts)
        await self._persist({client_order_id}, [])
        record_activity(self.exchange.activity())
        return order

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        await self._ready()
        orders: list[Order] = self.exchange.open_orders(symbol)
        return orders

    async def order(self, client_order_id: str) -> Order:
        await self._ready()
        order: Order = self.exchange.order(client_order_id)
        return order

    async def find_order(self, client_order_id: str) -> Order | None:
        await self._ready()
        found: Order | None = self.exchange.find_order(client_order_id)
        return found

    async def on_bar(self, bar: Bar) -> list[Fill]:
        await self._ready()
        if isinstance(self.exchange, CcxtVenue):
            return await self._live_fills()
        if bar.ts in self._restored_fills:  # a retried call: this bar was filled before
            return self._restored_fills.pop(bar.ts)
        fills = self.exchange.on_bar(bar) if self.exchange.has_open_orders(bar.symbol) else []
        await self._persist({f.client_order_id for f in fills}, fills)
        if fills:
            record_activity(self.exchange.activity())
        return fills

    async def on_bars(self, bars: list[Bar]) -> list[Fill]:
        """The fills of every symbol's new bar of one step: one call for a portfolio."""
        await self._ready()
        if isinstance(self.exchange, CcxtVenue):  # the venue's fills, whatever the bars
            return await self._live_fills()
        fills = []
        for bar in bars:
            fills += await self.on_bar(bar)
        return fills

    async def activity(self) -> dict[str, Any]:
        await self._ready()
        counts: dict[str, Any] = self.exchange.activity()
        return counts

    async def events(self) -> list[OrderEvent]:
        await self._ready()
        return [e for log in _event_logs(self.exchange) for e in log]

    # ---- a live (dry-run or ccxt) venue ------------------------------------------------

    async def venue(self) -> dict[str, Any]:
        """Which venue this is: kind, testnet, live (real money), dry run."""
        c = self.venue_config
        return {
            "kind": c.kind,
            "exchange": c.ccxt_exchange_id if self.live else None,
            "testnet": c.testnet,
            "live": c.real_money and c.live,
            "dry_run": c.kind == "dry-run",
        }

    async def prepare(self, request: OrderRequest, reference_price: Decimal | None) -> OrderCheck:
        """``request`` fitted to the venue's market rules (precision, minimum amount and
        notional), or the reason it cannot be sent; the paper exchange takes it as is."""
        await self._ready()
        prepare = getattr(self.exchange, "prepare", None)
        if prepare is None:
            return OrderCheck(request)
        try:
            check: OrderCheck = prepare(request, reference_price)
        except ExecutionError as exc:
            self._report_errors(exc)
            raise
        self._report_errors(None)
        return check

    async def reconcile(
        self, symbols: list[str], cash: Decimal, adopt: bool, operator: str
    ) -> VenueBooks:
        """The venue's account against the stored books (a ccxt venue): unanswered
        orders looked up, fills made while SIGMAX was down stored, then
        :func:`~sigmax.execution.venue_check.check_venue`. Adopted orders and fills
        (``adopt``, or a brand-new account's opening balances) are stored here."""
        await self._ready()
        venue = self.exchange
        if not isinstance(venue, CcxtVenue):
            raise ValueError(f"reconcile: venue {self.venue_config.kind} has no account to check")
        now = datetime.now(UTC)

        synced: list[Fill] = []

        def catch_up() -> None:
            for order in venue.open_orders():
                if order.venue_order_id is None:  # sent, never answered
                    venue.resolve_unanswered(order.client_order_id, now)
            synced.extend(venue.sync(now))  # fills made while SIGMAX was down

        await self._live_call(set(), catch_up, synced)
        assert self._repo is not None, "reconcile needs the stored books (persist)"
        orders, fills = await self._repo.load(self.account)
        books = check_venue(venue, symbols, orders, fills, cash, adopt, operator, now)
        if books.orders or books.fills:  # adopted: stored before anyone is told
            for order, own in _by_order(books.orders, books.fills):
                venue.restore([order], own)
            await self._repo.save(self.account, list(books.orders), [], list(books.fills))
        self._report_errors(None)
        return books

    async def _live_submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None
    ) -> Order:
        venue = self.exchange
        cid = request.client_order_id
        if isinstance(venue, CcxtVenue) and venue.find_order(cid) is None:
            venue.register(request, ts, reference_price)  # stored NEW before it is sent
            await self._persist_live({cid}, [])
        order: Order = await self._live_call(
            {cid}, lambda: venue.submit(request, ts, reference_price=reference_price)
        )
        return order

    async def _live_call(
        self, touched: set[str], call: Callable[[], Any], synced: list[Fill] | None = None
    ) -> Any:
        """Run one venue call; store what it changed (orders, its fills and those it put
        in ``synced``) whether it succeeded or not, and count the venue's errors."""
        try:
            result = call()
        except ExecutionError as exc:
            await self._store_changes(touched, synced or [])
            self._report_errors(exc)
            raise
        await self._store_changes(touched, synced or [])
        self._report_errors(None)
        return result

    async def _store_changes(self, touched: set[str], synced: list[Fill]) -> None:
        fills = list(synced)
        if isinstance(self.exchange, CcxtVenue):
            fills += self.exchange.take_fills()
        await self._persist_live(touched | {f.client_order_id for f in fills}, fills)
        self._pending += fills
        if fills or touched:
            record_activity(self.exchange.activity())

    async def _live_fills(self) -> list[Fill]:
        """A ccxt venue's fills since the last step: polled, stored, then returned."""
        now = datetime.now(UTC)
        synced: list[Fill] = []
        await self._live_call(set(), lambda: synced.extend(self.exchange.sync(now)), synced)
        fills, self._pending = self._pending, []
        return fills

    async def _persist_live(self, touched: set[str], fills: list[Fill]) -> None:
        logs = _event_logs(self.exchange)
        if self._repo is None:
            self._persisted_logs = [len(log) for log in logs]
            return
        done = self._persisted_logs or [0] * len(logs)
        events = [e for log, n in zip(logs, done, strict=True) for e in log[n:]]
        touched = touched | {e.client_order_id for e in events}
        orders = [self.exchange.order(cid) for cid in sorted(touched)]
        await self._repo.save(self.account, orders, events, fills)
        self._persisted_logs = [len(log) for log in logs]

    def _report_errors(self, raised: ExecutionError | None) -> None:
        """Send the venue's errors to risk's error-burst trigger, without waiting; the
        one that reaches the session (``raised``) is counted there instead."""
        errors = list(self._errors)
        self._errors.clear()  # the same list: the venue appends to it
        if raised is not None and str(raised) in errors:
            errors.remove(str(raised))
        if self._risk is None:
            return
        now = datetime.now(UTC)
        for error in errors:
            self._risk.on_venue_error.remote(now, f"venue: {error}")


REDELIVER_WINDOW = timedelta(days=1)
REDELIVER_MAX = 1_000


def _event_logs(venue: Any) -> tuple[Sequence[OrderEvent], ...]:
    """A venue's order-event logs (a dry run keeps two), each oldest first."""
    logs = getattr(venue, "event_logs", None)
    if logs is not None:
        found: tuple[Sequence[OrderEvent], ...] = logs()
        return found
    return (venue.events,)


def _by_order(orders: Sequence[Order], fills: Sequence[Fill]) -> list[tuple[Order, list[Fill]]]:
    return [(o, [f for f in fills if f.client_order_id == o.client_order_id]) for o in orders]
