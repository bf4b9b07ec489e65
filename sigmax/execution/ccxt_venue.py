"""A live execution venue over a ccxt exchange (testnet by default).

Orders keep their sigmax state in an :class:`OrderManager`; exchange responses move
them through the same state machine as the paper exchange. Symbols are ccxt unified
symbols (``"BTC/USDT"``). The sigmax client order id goes to the exchange as ccxt's
``clientOrderId`` (:func:`exchange_client_id`: as it is when it is short and plain
enough for every exchange, else a fixed hash of it), so a resubmitted order that never
got an answer is looked up by that id before it is sent again.

Fills arrive with submit and cancel responses or through :meth:`CcxtVenue.sync`;
``sync`` returns every fill applied since the previous ``sync``, whichever call
brought it in, so none is lost when a call fails half-way.

Markets are loaded once. :meth:`CcxtVenue.prepare` fits a request to the market's
amount and price precision and refuses, with the reason, one that cannot meet the
minimum amount or notional: the session calls it before the risk check.

Errors: a refusal by the exchange (insufficient funds, invalid order, filter failure)
rejects the order with the exchange's reason; a rate limit (429) waits for the
``Retry-After`` the exchange asked for, other network errors and timeouts back off
exponentially; both are retried up to ``network_retries`` times. An order whose
submission failed half-way is looked up by its client order id before it is sent
again, so one decision never becomes two orders. Every exchange error is passed to
``on_error`` (the session counts them towards risk's error-burst trigger).

Credentials never leave this module in text: the exchange's HTTP debug log goes
through a redacting logger and every error message is redacted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt

from sigmax.execution.config import CcxtVenueConfig
from sigmax.execution.credentials import CredentialsProvider, ExchangeCredentials
from sigmax.execution.errors import (
    ExecutionError,
    UnacknowledgedOrderError,
    UnknownOrderError,
    VenueAuthError,
    VenueError,
    VenueNetworkError,
    VenueRateLimitError,
    VenueRefusedError,
)
from sigmax.execution.orders import OrderEvent, OrderManager, check_transition
from sigmax.execution.reconcile import VenueOrder, VenueSnapshot, VenueTrade, fill_id_of
from sigmax.model import (
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    to_decimal,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Remote = Mapping[str, Any]

# exchange answers that mean "this order is refused", as opposed to "something broke"
_REJECTIONS = (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.BadRequest, ccxt.OperationRejected)
_TERMINAL_STATUS = {
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_MAX_BACKOFF_S = 60.0
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def exchange_client_id(client_order_id: str) -> str:
    """The client order id sent to the exchange for a sigmax one.

    Exchanges limit them (Binance: 36 characters of ``[A-Za-z0-9._:/-]``); an id of at
    most 32 letters, digits, ``_`` and ``-`` goes as it is, any other becomes ``sx`` and
    30 hex digits of its BLAKE2b hash: the same id every time, so a lookup after a
    restart finds the order.
    """
    if _PLAIN_ID.fullmatch(client_order_id):
        return client_order_id
    return "sx" + hashlib.blake2b(client_order_id.encode(), digest_size=15).hexdigest()


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """A request fitted to the exchange's market rules, or the reason it cannot be sent.

    ``request`` is the request to send (quantity rounded down to the amount step, prices
    to the tick: buy limits down, sell limits up, so never beyond what was asked) and
    ``adjustments`` says what changed; with ``reason`` set, ``request`` is None.
    """

    request: OrderRequest | None
    reason: str | None = None
    adjustments: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.request is not None


@dataclass(frozen=True, slots=True)
class KeyPermissions:
    """What the exchange says the API key may do; None where it cannot tell."""

    read: bool | None = None
    trade: bool | None = None
    withdraw: bool | None = None


class _Redactor:
    """Replaces credential values (and request signatures) in text with ``***``."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return re.sub(r"(signature=)[0-9A-Za-z%+/=_-]+", r"\1***", text)


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """Formats each record, redacts it, and passes it on to the wrapped logger."""

    def __init__(self, logger: logging.Logger, redact: _Redactor) -> None:
        super().__init__(logger, {})
        self._redact = redact

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, self._redact(text), **kwargs)


class CcxtVenue:
    """An :class:`~sigmax.execution.venue.ExecutionVenue` over one ccxt exchange account."""

    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: CredentialsProvider | None = None,
        *,
        exchange_class: type[ccxt.Exchange] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        creds = None
        if credentials is not None:
            creds = credentials.get_exchange_credentials(config.exchange_id)
        self._config = config
        self._sleep = sleep
        self._on_error = on_error
        self._fee_assets: dict[str, tuple[Decimal, str | None]] = {}
        self._redact = _Redactor(creds.values() if creds is not None else ())
        self._exchange = self._build_exchange(config, creds, exchange_class)
        self._orders = OrderManager()
        self._refs: dict[str, Decimal | None] = {}
        self._unreported: list[Fill] = []
        self._fresh: set[str] = set()  # registered here, never sent: no lookup needed
        self._markets_loaded = False

    def __repr__(self) -> str:
        c = self._config
        return (
            f"CcxtVenue(exchange_id={c.exchange_id!r}, sandbox={c.sandbox}, "
            f"market_type={c.market_type!r})"
        )

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """Every order state change so far, oldest first."""
        return self._orders.events

    def _build_exchange(
        self,
        config: CcxtVenueConfig,
        creds: ExchangeCredentials | None,
        exchange_class: type[ccxt.Exchange] | None,
    ) -> ccxt.Exchange:
        cls = exchange_class or getattr(ccxt, config.exchange_id, None)
        if not (isinstance(cls, type) and issubclass(cls, ccxt.Exchange)):
            raise ValueError(f"ccxt has no exchange with id {config.exchange_id!r}")
        params: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": config.timeout_ms,
            "options": {"defaultType": config.market_type, **config.options},
        }
        if creds is not None:
            params.update(apiKey=creds.api_key, secret=creds.secret)
            if creds.password is not None:
                params["password"] = creds.password
        exchange = cls(params)
        exchange.logger = _RedactingLogger(logging.getLogger(f"{__name__}.http"), self._redact)
        if config.sandbox:
            if not (exchange.urls or {}).get("test"):  # ccxt fails obscurely without one
                raise VenueRefusedError(
                    f"exchange {config.exchange_id} has no testnet in ccxt: drop --testnet "
                    "(SIGMAX_VENUE__TESTNET), or choose an exchange that has one"
                )
            exchange.set_sandbox_mode(True)
        if config.base_url is not None:
            exchange.urls["api"] = _rebase(exchange.urls["api"], config.base_url)
        return exchange

    # ---- venue interface -------------------------------------------------------------

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        """Send an order; a repeated id returns the known order, or reconciles an unanswered one."""
        cid = request.client_order_id
        if cid in self._orders:
            existing = self._orders.submit(request, ts)
            if existing.status is not OrderStatus.NEW:
                return existing
            if cid in self._fresh:  # registered (and persisted) by the caller, never sent
                self._fresh.discard(cid)
                return self._send(request, ts)
            return self._reconcile_unanswered(request, ts)
        if reference_price is not None and reference_price <= 0:
            raise ValueError(f"order {cid}: reference_price must be > 0, got {reference_price}")
        self._orders.submit(request, ts)
        self._refs[cid] = reference_price
        return self._send(request, ts)

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        """Cancel on the exchange; fills that came before the cancel are applied first."""
        order = self._orders.order(client_order_id)
        if order.status is OrderStatus.NEW or order.venue_order_id is None:
            raise UnacknowledgedOrderError(
                f"order {client_order_id}: not acknowledged by the exchange yet; "
                "submit it again to reconcile before cancelling"
            )
        check_transition(client_order_id, order.status, OrderStatus.CANCELLED)
        symbol = order.request.symbol
        try:
            cancel = self._exchange.cancel_order
            remote = self._call(f"cancel {client_order_id}", cancel, order.venue_order_id, symbol)
        except UnknownOrderError:
            # gone on the exchange already (filled or cancelled): take its final state
            self._refresh(client_order_id, ts)
            return self._orders.order(client_order_id)
        self._apply_remote(client_order_id, remote, ts)
        if not self._orders.order(client_order_id).status.is_terminal:
            self._orders.cancel(client_order_id, ts, "cancelled by request")
        return self._orders.order(client_order_id)

    def register(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        """Record the order as NEW without sending it, so the caller can persist it
        first (write-ahead); the next :meth:`submit` of it sends it. After a restart a
        restored NEW order is looked up by its client order id before any send."""
        cid = request.client_order_id
        if cid in self._orders:
            return self._orders.submit(request, ts)
        if reference_price is not None and reference_price <= 0:
            raise ValueError(f"order {cid}: reference_price must be > 0, got {reference_price}")
        order = self._orders.submit(request, ts)
        self._refs[cid] = reference_price
        self._fresh.add(cid)
        return order

    def resolve_unanswered(self, client_order_id: str, ts: datetime) -> Order:
        """An order stored NEW (sent, no answer, then a restart): look it up by its
        client order id and take the exchange's state; one the exchange does not know
        never reached it and is rejected here, not sent again (its decision is old)."""
        order = self._orders.order(client_order_id)
        if order.status is not OrderStatus.NEW:
            return order
        self._fresh.discard(client_order_id)
        found = self._find_remote(client_order_id, order.request.symbol)
        if found is None:
            return self._orders.reject(
                client_order_id,
                ts,
                "never reached the exchange before a restart; not sent again",
            )
        self._apply_remote(client_order_id, found, ts)
        return self._orders.order(client_order_id)

    def take_fills(self) -> list[Fill]:
        """The fills applied since they were last taken (by this or :meth:`sync`),
        without asking the exchange."""
        fills, self._unreported = self._unreported, []
        return fills

    def find_order(self, client_order_id: str) -> Order | None:
        """The order's state, None for a client order id this venue has not seen."""
        if client_order_id not in self._orders:
            return None
        return self._orders.order(client_order_id)

    def activity(self) -> dict[str, Any]:
        """Order counts by state (as the paper exchange reports them)."""
        return self._orders.activity()

    def last_price(self, symbol: str) -> Decimal:
        """The close of the exchange's latest candle of ``symbol``."""
        candles = self._call(
            f"price of {symbol}", self._exchange.fetch_ohlcv, symbol, "1m", None, 1
        )
        if not candles:
            raise VenueError(f"{self._config.exchange_id}: no candle of {symbol} to price it")
        return to_decimal(candles[-1][4])

    def order(self, client_order_id: str) -> Order:
        return self._orders.order(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self._orders.open_orders(symbol)

    def sync(self, ts: datetime) -> list[Fill]:
        """Poll the exchange for fills and closed orders; returns all fills not yet reported."""
        by_symbol: dict[str, list[Order]] = {}
        for o in self._orders.open_orders():
            if o.venue_order_id is not None:
                by_symbol.setdefault(o.request.symbol, []).append(o)
        for symbol, orders in by_symbol.items():
            self._sync_symbol(symbol, orders, ts)
        fills, self._unreported = self._unreported, []
        return fills

    def fill_fee(self, fill_id: str) -> tuple[Decimal, str | None]:
        """A fill's fee as the exchange charged it: amount and currency (the fill's own
        ``fee`` is its value in the quote currency)."""
        try:
            return self._fee_assets[fill_id]
        except KeyError:
            raise UnknownOrderError(f"no fill with id {fill_id!r} on this venue") from None

    def restore(self, orders: Sequence[Order], fills: Sequence[Fill]) -> None:
        """Put back the orders persisted before a restart, with their fills.

        An order still NEW (its submission was never acknowledged) is looked up by its
        client order id when it is submitted again, and sent only if the exchange does
        not know it.
        """
        by_order: dict[str, list[Fill]] = {}
        for fill in fills:
            by_order.setdefault(fill.client_order_id, []).append(fill)
        for order in orders:
            self._orders.restore(order, by_order.get(order.client_order_id, []))
            ref = next((f.reference_price for f in by_order.get(order.client_order_id, [])), None)
            self._refs[order.client_order_id] = ref

    def prepare(self, request: OrderRequest, reference_price: Decimal | None = None) -> OrderCheck:
        """Fit ``request`` to the market's precision and limits (markets loaded once).

        ``reference_price`` (the price the decision was taken at) values a market order
        for the minimum-notional check; without it a market order on a market with a
        minimum notional is refused, since it cannot be checked.
        """
        self._ensure_markets()
        cid, symbol = request.client_order_id, request.symbol
        market = self._exchange.markets.get(symbol)
        if market is None:
            return OrderCheck(None, f"order {cid}: {symbol} is not listed on {self._exchange.id}")
        if market.get("active") is False:
            return OrderCheck(None, f"order {cid}: {symbol} is not trading on {self._exchange.id}")
        mode = self._exchange.precisionMode
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        notes: list[str] = []

        qty = _round(request.qty, _step(precision.get("amount"), mode), ROUND_FLOOR)
        if qty != request.qty:
            notes.append(f"qty {request.qty} rounded down to {qty}")
        min_qty = _limit(limits, "amount", "min")
        max_qty = _limit(limits, "amount", "max")
        if qty <= 0 or (min_qty is not None and qty < min_qty):
            return OrderCheck(
                None,
                f"order {cid}: qty {request.qty} (rounded {qty}) is below the minimum amount "
                f"{min_qty or 0} of {symbol}",
            )
        if max_qty is not None and qty > max_qty:
            return OrderCheck(
                None, f"order {cid}: qty {qty} is above the maximum amount {max_qty} of {symbol}"
            )
        tick = _step(precision.get("price"), mode)
        passive = ROUND_FLOOR if request.side is Side.BUY else ROUND_CEILING
        limit_price = request.limit_price
        if limit_price is not None:
            limit_price = _round(limit_price, tick, passive)
            if limit_price != request.limit_price:
                notes.append(f"limit price {request.limit_price} rounded to {limit_price}")
        stop_price = request.stop_price
        if stop_price is not None:
            stop_price = _round(stop_price, tick, ROUND_HALF_EVEN)
            if stop_price != request.stop_price:
                notes.append(f"stop price {request.stop_price} rounded to {stop_price}")
        if 0 in (limit_price, stop_price):
            return OrderCheck(None, f"order {cid}: a price rounds to 0 at the tick {tick}")
        min_cost = _limit(limits, "cost", "min")
        value_price = limit_price or stop_price or reference_price
        if min_cost is not None and min_cost > 0:
            if value_price is None:
                return OrderCheck(
                    None,
                    f"order {cid}: needs a reference price to check the minimum notional "
                    f"{min_cost} of {symbol}",
                )
            if qty * value_price < min_cost:
                return OrderCheck(
                    None,
                    f"order {cid}: notional {qty * value_price} ({qty} at {value_price}) is "
                    f"below the minimum notional {min_cost} of {symbol}",
                )
        adjusted = dataclasses.replace(
            request, qty=qty, limit_price=limit_price, stop_price=stop_price
        )
        return OrderCheck(adjusted, None, tuple(notes))

    def balances(self) -> dict[str, Decimal]:
        """Total (free + locked) balance per asset, non-zero ones only."""
        raw = self._call("fetch balance", self._exchange.fetch_balance)
        totals = raw.get("total") or {}
        out = {a: to_decimal(v) for a, v in totals.items() if v is not None}
        return {a: v for a, v in out.items() if v != 0}

    def permissions(self) -> KeyPermissions:
        """What the API key may do. Binance (off testnet) says it through its
        API-restrictions endpoint; elsewhere a balance that loads means ``read``."""
        if self._config.exchange_id == "binance" and not self._config.sandbox:
            answer = self._call("API restrictions", self._exchange.sapiGetAccountApiRestrictions)

            def flag(key: str) -> bool | None:
                value = answer.get(key)
                return value if isinstance(value, bool) else None

            return KeyPermissions(
                read=flag("enableReading"),
                trade=flag("enableSpotAndMarginTrading"),
                withdraw=flag("enableWithdrawals"),
            )
        self._call("fetch balance", self._exchange.fetch_balance)
        return KeyPermissions(read=True)

    def snapshot(
        self,
        symbols: Iterable[str],
        since: datetime,
        client_order_ids: Mapping[str, str] | None = None,
    ) -> VenueSnapshot:
        """The account as the exchange sees it, for :func:`~sigmax.execution.reconcile.reconcile`.

        Balances, the open orders and the trades since ``since`` on ``symbols``, and the
        state of each order in ``client_order_ids`` (client id → symbol), looked up by
        client id: those the exchange does not know are listed as missing.
        """
        self._ensure_markets()
        taken_at = datetime.now(UTC)
        balances = self.balances()
        orders: dict[str, VenueOrder] = {}
        trades: list[VenueTrade] = []
        for symbol in sorted(set(symbols)):
            for raw in self._call(
                f"open orders {symbol}", self._exchange.fetch_open_orders, symbol
            ):
                vo = _venue_order(raw)
                orders[vo.venue_order_id] = vo
            fetch = self._exchange.fetch_my_trades
            for raw in self._call(f"trades {symbol}", fetch, symbol, _to_ms(since)):
                trades.append(_venue_trade(raw))
        missing: set[str] = set()
        for cid, symbol in (client_order_ids or {}).items():
            sent_as = exchange_client_id(cid)
            try:
                raw = self._call(
                    f"look up {cid}",
                    self._exchange.fetch_order,
                    sent_as,
                    symbol,
                    {"clientOrderId": sent_as},
                )
            except UnknownOrderError:
                missing.add(cid)
                continue
            vo = _venue_order(raw)
            orders[vo.venue_order_id] = vo
        # the exchange knows our orders by the ids we sent: name them by sigmax's again
        ours = {exchange_client_id(cid): cid for cid in client_order_ids or {}}
        for key, vo in orders.items():
            if vo.client_order_id in ours:
                orders[key] = dataclasses.replace(vo, client_order_id=ours[vo.client_order_id])
        return VenueSnapshot(
            taken_at=taken_at,
            balances=balances,
            orders=tuple(orders.values()),
            trades=tuple(trades),
            missing_client_ids=frozenset(missing),
        )

    # ---- internals ---------------------------------------------------------------

    def _sync_symbol(self, symbol: str, orders: list[Order], ts: datetime) -> None:
        since = min(_to_ms(o.created_ts) for o in orders)
        trades = self._call(f"sync {symbol}", self._exchange.fetch_my_trades, symbol, since)
        for o in orders:
            self._apply_trades(o.client_order_id, trades, ts)
        remote_open = self._call(f"sync {symbol}", self._exchange.fetch_open_orders, symbol)
        still_open = {str(r.get("id")) for r in remote_open}
        for o in orders:
            if o.venue_order_id not in still_open:
                self._refresh(o.client_order_id, ts)

    def _send(self, request: OrderRequest, ts: datetime, *, look_up_first: bool = False) -> Order:
        """Send the order; after a failure that may have reached the exchange, look it
        up by client order id before sending again (``look_up_first``: start there)."""
        cid = request.client_order_id
        self._ensure_markets()
        try:
            args = self._order_args(request)
        except ValueError as exc:
            return self._orders.reject(cid, ts, str(exc))
        look_up = look_up_first
        attempt = 0
        while True:
            try:
                if look_up:
                    fetch = self._exchange.fetch_order
                    sent_as = exchange_client_id(cid)
                    remote = fetch(sent_as, request.symbol, {"clientOrderId": sent_as})
                else:
                    remote = self._exchange.create_order(*args)
            except ccxt.OrderNotFound as exc:
                if look_up:
                    look_up = False  # the exchange never got it: sending is safe
                    continue
                return self._refuse(cid, ts, exc)
            except _REJECTIONS as exc:
                if look_up:
                    raise self._translate(exc, f"look up {cid}") from None
                if attempt > 0 or look_up_first:
                    # a resend refused ("Duplicate order sent."?): the first one may have
                    # arrived after the lookup; it is the order then, not a rejection
                    found = self._find_remote(cid, request.symbol)
                    if found is not None:
                        self._apply_remote(cid, found, ts)
                        return self._orders.order(cid)
                return self._refuse(cid, ts, exc)
            except ccxt.BaseError as exc:
                # it may or may not have reached the exchange: the order stays NEW
                action = f"look up {cid}" if look_up else f"submit {cid}"
                error = self._translate(exc, action)
                if not isinstance(error, VenueNetworkError) or attempt >= self._retries:
                    raise error from None
                attempt += 1
                self._backoff(attempt, error)
                look_up = True
                continue
            self._apply_remote(cid, remote, ts)
            return self._orders.order(cid)

    def _find_remote(self, cid: str, symbol: str) -> Remote | None:
        """The order on the exchange under its client order id, None if it has none."""
        sent_as = exchange_client_id(cid)
        try:
            fetch = self._exchange.fetch_order
            found: Remote = self._call(
                f"look up {cid}", fetch, sent_as, symbol, {"clientOrderId": sent_as}
            )
        except UnknownOrderError:
            return None
        return found

    def _refuse(self, cid: str, ts: datetime, exc: ccxt.BaseError) -> Order:
        reason = self._redact(f"{type(exc).__name__}: {exc}")
        self._report(f"{self._config.exchange_id} submit {cid} refused: {reason}")
        return self._orders.reject(cid, ts, reason)

    def _reconcile_unanswered(self, request: OrderRequest, ts: datetime) -> Order:
        return self._send(request, ts, look_up_first=True)

    def _order_args(
        self, request: OrderRequest
    ) -> tuple[str, str, str, float, float | None, dict[str, Any]]:
        symbol = request.symbol
        amount = self._exchange.amount_to_precision(symbol, float(request.qty))
        if Decimal(amount) != request.qty:
            raise ValueError(
                f"qty {request.qty} does not fit the exchange's amount precision "
                f"for {symbol} (would be {amount})"
            )
        params: dict[str, Any] = {"clientOrderId": exchange_client_id(request.client_order_id)}
        if request.stop_price is not None:
            params["triggerPrice"] = float(request.stop_price)
        if request.tif is TimeInForce.IOC:
            params["timeInForce"] = "IOC"
        if request.reduce_only and self._config.market_type != "spot":
            params["reduceOnly"] = True
        limit = request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        price = float(request.limit_price) if request.limit_price is not None else None
        kind = "limit" if limit else "market"
        return symbol, kind, request.side.value, float(request.qty), price, params

    def _refresh(self, cid: str, ts: datetime) -> None:
        order = self._orders.order(cid)
        remote = self._call(
            f"fetch {cid}", self._exchange.fetch_order, order.venue_order_id, order.request.symbol
        )
        self._apply_remote(cid, remote, ts)

    def _apply_remote(self, cid: str, remote: Remote, ts: datetime) -> None:
        status = str(remote.get("status") or "")
        if self._orders.order(cid).status is OrderStatus.NEW:
            if status == "rejected":
                self._orders.reject(cid, ts, f"exchange rejected: {remote.get('info')}")
                return
            self._orders.accept(cid, ts, str(remote["id"]))
        self._apply_trades(cid, remote.get("trades") or [], ts, embedded=True)
        remote_filled = to_decimal(remote.get("filled") or 0)
        if remote_filled > self._orders.order(cid).filled_qty:
            self._apply_trades(cid, self._fetch_order_trades(cid), ts)
        dst = _TERMINAL_STATUS.get(status)
        order = self._orders.order(cid)
        if dst is not None and not order.status.is_terminal:
            if dst is OrderStatus.CANCELLED:
                self._orders.cancel(cid, ts, "cancelled on the exchange")
            elif dst is OrderStatus.EXPIRED:
                self._orders.expire(cid, ts, "expired on the exchange")
            else:
                self._orders.reject(cid, ts, "rejected by the exchange")

    def _fetch_order_trades(self, cid: str) -> list[Remote]:
        order = self._orders.order(cid)
        symbol = order.request.symbol
        if self._exchange.has.get("fetchOrderTrades"):
            fetch = self._exchange.fetch_order_trades
            return list(self._call(f"trades of {cid}", fetch, order.venue_order_id, symbol))
        return list(self._call(f"trades of {cid}", self._exchange.fetch_my_trades, symbol))

    def _apply_trades(
        self, cid: str, trades: Sequence[Remote], ts: datetime, *, embedded: bool = False
    ) -> None:
        """Apply the order's trades not yet applied; ``embedded``: they came inside its response."""
        venue_id = self._orders.order(cid).venue_order_id
        mine = [
            t
            for t in trades
            if str(t.get("order")) == venue_id or (embedded and t.get("order") is None)
        ]
        for trade in sorted(mine, key=lambda t: t.get("timestamp") or 0):
            fill = self._to_fill(cid, trade, ts)
            if not self._orders.has_fill(fill.fill_id):
                self._orders.apply_fill(fill)
                self._unreported.append(fill)

    def _to_fill(self, cid: str, trade: Remote, ts: datetime) -> Fill:
        request = self._orders.order(cid).request
        qty = to_decimal(trade["amount"])
        price = to_decimal(trade["price"])
        stamp = trade.get("timestamp")
        fee = trade.get("fee") or {}
        fid = fill_id_of(cid, str(trade["id"]))
        if fee.get("cost") is not None:
            self._fee_assets[fid] = (to_decimal(fee["cost"]), fee.get("currency"))
        return Fill(
            fill_id=fid,
            client_order_id=cid,
            symbol=request.symbol,
            side=request.side,
            qty=qty,
            price=price,
            fee=self._quote_fee(request.symbol, trade.get("fee"), price),
            ts=_from_ms(int(stamp)) if stamp is not None else ts,
            liquidity=Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER,
            reference_price=self._refs.get(cid),
        )

    def _quote_fee(self, symbol: str, fee: Remote | None, price: Decimal) -> Decimal:
        if not fee or fee.get("cost") is None:
            return Decimal(0)
        cost = to_decimal(fee["cost"])
        market = self._exchange.market(symbol)
        currency = fee.get("currency")
        if currency == market["quote"]:
            return cost
        if currency == market["base"]:
            return cost * price
        log.warning(
            "fee of %s %s on %s is in neither base nor quote; recorded as 0 quote",
            cost,
            currency,
            symbol,
        )
        return Decimal(0)

    def _ensure_markets(self) -> None:
        if not self._markets_loaded:
            self._call("load markets", self._exchange.load_markets)
            self._markets_loaded = True

    @property
    def _retries(self) -> int:
        return self._config.network_retries

    def _call(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        """One exchange call; network errors and rate limits retried after a backoff."""
        attempt = 0
        while True:
            try:
                return fn(*args)
            except ccxt.BaseError as exc:
                error = self._translate(exc, action)
                if not isinstance(error, VenueNetworkError) or attempt >= self._retries:
                    raise error from None
                attempt += 1
                self._backoff(attempt, error)

    def _backoff(self, attempt: int, error: VenueNetworkError) -> None:
        """Wait before retry ``attempt``: a rate limit's Retry-After, else exponential."""
        delay = self._config.backoff_s * 2 ** (attempt - 1)
        if isinstance(error, VenueRateLimitError):
            headers = self._exchange.last_response_headers or {}
            retry_after = next(
                (v for k, v in headers.items() if str(k).lower() == "retry-after"), None
            )
            if retry_after is not None and str(retry_after).strip().isdigit():
                delay = max(delay, float(retry_after))
        log.warning("%s; retry %d of %d in %.1fs", error, attempt, self._retries, delay)
        self._sleep(min(delay, _MAX_BACKOFF_S))

    def _report(self, message: str) -> None:
        if self._on_error is not None:
            self._on_error(message)

    def _translate(self, exc: ccxt.BaseError, action: str) -> ExecutionError:
        message = self._redact(f"{self._config.exchange_id} {action}: {type(exc).__name__}: {exc}")
        error: ExecutionError
        if isinstance(exc, ccxt.OrderNotFound):
            return UnknownOrderError(message)  # an answer, not a failure: not reported
        if isinstance(exc, ccxt.AuthenticationError | ccxt.AccountSuspended):
            error = VenueAuthError(message)
        elif isinstance(exc, ccxt.DDoSProtection):  # 429 / 418 (RateLimitExceeded too)
            error = VenueRateLimitError(message)
        elif isinstance(exc, ccxt.NetworkError):
            error = VenueNetworkError(message)
        else:
            error = VenueError(message)
        self._report(message)
        return error


def _to_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC) + timedelta(milliseconds=ms % 1000)


def _rebase(api: Any, base_url: str) -> Any:
    """ccxt's ``urls['api']`` (a string or a nested dict of them) with every URL's scheme
    and host replaced by ``base_url``'s; paths stay."""
    if isinstance(api, str):
        target = urlsplit(base_url)
        return urlsplit(api)._replace(scheme=target.scheme, netloc=target.netloc).geturl()
    if isinstance(api, dict):
        return {k: _rebase(v, base_url) for k, v in api.items()}
    return api


def _step(value: Any, mode: int) -> Decimal | None:
    """The market's increment from its ccxt precision (tick size or decimal places)."""
    if value is None:
        return None
    if mode == ccxt.TICK_SIZE:
        return to_decimal(value)
    if mode == ccxt.DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    return None  # significant digits: left to the exchange


def _round(value: Decimal, step: Decimal | None, rounding: str) -> Decimal:
    if step is None or step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def _limit(limits: Mapping[str, Any], what: str, bound: str) -> Decimal | None:
    value = (limits.get(what) or {}).get(bound)
    return to_decimal(value) if value is not None else None


def _side(raw: Any) -> Side:
    return Side.BUY if str(raw).lower() == "buy" else Side.SELL


def _venue_order(raw: Remote) -> VenueOrder:
    stamp = raw.get("timestamp")
    price = raw.get("price")
    return VenueOrder(
        venue_order_id=str(raw["id"]),
        client_order_id=raw.get("clientOrderId"),
        symbol=str(raw["symbol"]),
        side=_side(raw.get("side")),
        qty=to_decimal(raw.get("amount") or 0),
        filled=to_decimal(raw.get("filled") or 0),
        price=to_decimal(price) if price else None,
        status=str(raw.get("status") or ""),
        ts=_from_ms(int(stamp)) if stamp is not None else datetime.now(UTC),
    )


def _venue_trade(raw: Remote) -> VenueTrade:
    fee = raw.get("fee") or {}
    stamp = raw.get("timestamp")
    return VenueTrade(
        trade_id=str(raw["id"]),
        venue_order_id=str(raw.get("order")),
        symbol=str(raw["symbol"]),
        side=_side(raw.get("side")),
        qty=to_decimal(raw["amount"]),
        price=to_decimal(raw["price"]),
        fee=to_decimal(fee["cost"]) if fee.get("cost") is not None else Decimal(0),
        fee_currency=fee.get("currency"),
        ts=_from_ms(int(stamp)) if stamp is not None else datetime.now(UTC),
        maker=raw.get("takerOrMaker") == "maker",
    )
