"""A live execution venue over a ccxt exchange (testnet by default).

Orders keep their sigmax state in an :class:`OrderManager`; exchange responses move
them through the same state machine as the paper exchange. Symbols are ccxt unified
symbols (``"BTC/USDT"``). The sigmax client order id goes to the exchange as ccxt's
``clientOrderId``, so a resubmitted order that never got an answer is looked up by
that id before it is sent again.

Fills arrive with submit and cancel responses or through :meth:`CcxtVenue.sync`;
``sync`` returns every fill applied since the previous ``sync``, whichever call
brought it in, so none is lost when a call fails half-way.

Credentials never leave this module in text: the exchange's HTTP debug log goes
through a redacting logger and every error message is redacted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

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
)
from sigmax.execution.orders import OrderEvent, OrderManager, check_transition
from sigmax.model import (
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
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
    ) -> None:
        creds = None
        if credentials is not None:
            creds = credentials.get_exchange_credentials(config.exchange_id)
        self._config = config
        self._redact = _Redactor(creds.values() if creds is not None else ())
        self._exchange = self._build_exchange(config, creds, exchange_class)
        self._orders = OrderManager()
        self._refs: dict[str, Decimal | None] = {}
        self._unreported: list[Fill] = []
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
            exchange.set_sandbox_mode(True)
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

    def _send(self, request: OrderRequest, ts: datetime) -> Order:
        cid = request.client_order_id
        self._ensure_markets()
        try:
            args = self._order_args(request)
            remote = self._exchange.create_order(*args)
        except _REJECTIONS as exc:
            return self._orders.reject(cid, ts, self._redact(f"{type(exc).__name__}: {exc}"))
        except ValueError as exc:
            return self._orders.reject(cid, ts, str(exc))
        except ccxt.BaseError as exc:
            # the order may or may not have reached the exchange: it stays NEW
            raise self._translate(exc, f"submit {cid}") from None
        self._apply_remote(cid, remote, ts)
        return self._orders.order(cid)

    def _reconcile_unanswered(self, request: OrderRequest, ts: datetime) -> Order:
        cid = request.client_order_id
        self._ensure_markets()
        try:
            remote = self._call(
                f"look up {cid}",
                self._exchange.fetch_order,
                cid,
                request.symbol,
                {"clientOrderId": cid},
            )
        except UnknownOrderError:
            return self._send(request, ts)
        self._apply_remote(cid, remote, ts)
        return self._orders.order(cid)

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
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
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
        return Fill(
            fill_id=f"{cid}-{trade['id']}",
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

    def _call(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except ccxt.BaseError as exc:
            raise self._translate(exc, action) from None

    def _translate(self, exc: ccxt.BaseError, action: str) -> ExecutionError:
        message = self._redact(f"{self._config.exchange_id} {action}: {type(exc).__name__}: {exc}")
        if isinstance(exc, ccxt.OrderNotFound):
            return UnknownOrderError(message)
        if isinstance(exc, ccxt.AuthenticationError | ccxt.AccountSuspended):
            return VenueAuthError(message)
        if isinstance(exc, ccxt.NetworkError):
            return VenueNetworkError(message)
        return VenueError(message)


def _to_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC) + timedelta(milliseconds=ms % 1000)
