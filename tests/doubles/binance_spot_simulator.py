"""Test double: a Binance spot exchange simulator served over local HTTP.

``BinanceSpotSimulatorDouble`` is not Binance. It answers the REST endpoints that ccxt's
``binance`` class calls for spot trading (``/api/v3/time``, ``exchangeInfo``, ``klines``,
``account``, ``order`` POST/GET/DELETE, ``openOrders``, ``myTrades`` and
``/sapi/v1/account/apiRestrictions``) in Binance's own JSON shapes and error codes, so
the real ccxt client (request building, HMAC signing, error mapping, parsing) runs
against it through a base-URL override. Requests are HMAC-SHA256 checked like Binance:
an unknown key or a bad signature is refused.

Prices come from a replayed bundled bar series (``sigmax.data`` ``bundled:`` sets, the first
``start_bar + bars`` of them); the
series' symbol is listed as ``<BASE><QUOTE>`` (``BTC/USD`` bars serve ``BTCUSDT``).
``more_sources`` lists more series with the same bar times (``bundled:ETH-USD-30m`` and
``bundled:LTC-USD-30m``): one market each, on one account. The
simulator stands on one bar at a time (:meth:`advance` moves on):

- a market order fills at once at the current bar's close, in one trade;
- a limit order that is marketable at the current close fills at once at the close
  (taker); otherwise it rests and, on each later bar whose low (buy) or high (sell)
  reaches its price, fills at its price (maker), at most ``fill_cap`` base units per
  bar (partial fills);
- fees are charged in the quote asset, ``fee_rate`` of the notional, exactly.

Faults are injected with :meth:`lose_next_order_reply` (the order is booked or
cancelled, its reply never arrives: the client times out), :meth:`rate_limit` (429
with ``Retry-After``), :meth:`hide_next_lookups` (an order not yet visible),
:meth:`reject_next_order` and :meth:`set_down` (503 until set up again).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sigmax.data.loader import load_bars

D = Decimal
API_KEY = "simulator-key-0123456789abcdef0123456789abcdef"
SECRET = "simulator-secret-fedcba9876543210fedcba9876543210"
# VenueConfig.credentials for these keys: SIGMAX_EXCHANGE_SIMULATOR_API_KEY / _SECRET
CREDENTIALS_NAME = "simulator"
FEE_RATE = D("0.001")
TICK_SIZE = D("0.01")
STEP_SIZE = D("0.00001")
MIN_NOTIONAL = D("5")


def _num(value: Decimal) -> str:
    """Binance prints decimals with 8 places."""
    return f"{value.quantize(D('0.00000001')):f}"


@dataclass
class _Market:
    symbol: str  # BTCUSDT
    base: str
    bars: list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]


def _replayed(
    series: Any, upto: int
) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    return [
        (
            int(series.ts[i]) // 1_000_000,
            D(repr(float(series.open[i]))),
            D(repr(float(series.high[i]))),
            D(repr(float(series.low[i]))),
            D(repr(float(series.close[i]))),
            D(repr(float(series.volume[i]))),
        )
        for i in range(min(upto, len(series)))
    ]


@dataclass
class SimOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # MARKET / LIMIT
    qty: Decimal
    price: Decimal  # limit price; 0 for market
    time_in_force: str
    time_ms: int
    status: str = "NEW"
    executed: Decimal = D(0)
    quote: Decimal = D(0)
    fills: list[dict[str, Any]] = field(default_factory=list)
    reserved: Decimal = D(0)  # funds locked for the unfilled rest

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": _num(self.price),
            "origQty": _num(self.qty),
            "executedQty": _num(self.executed),
            "cummulativeQuoteQty": _num(self.quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": "0.00000000",
            "time": self.time_ms,
            "updateTime": self.time_ms,
            "workingTime": self.time_ms,
            "isWorking": True,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


class _Refusal(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class BinanceSpotSimulatorDouble:
    """A test double of Binance spot over HTTP; use as a context manager or call close()."""

    def __init__(
        self,
        source: str = "bundled:BTC-USD-1h",
        *,
        more_sources: tuple[str, ...] = (),
        quote: str = "USDT",
        start_bar: int = 100,
        bars: int = 1000,
        balances: dict[str, Decimal] | None = None,
        fee_rate: Decimal = FEE_RATE,
        fill_cap: Decimal | None = None,
        tick_size: Decimal = TICK_SIZE,
        step_size: Decimal = STEP_SIZE,
        min_qty: Decimal = STEP_SIZE,
        min_notional: Decimal = MIN_NOTIONAL,
        can_withdraw: bool = False,
        api_key: str = API_KEY,
        secret: str = SECRET,
    ) -> None:
        self._markets: dict[str, _Market] = {}
        for name in (source, *more_sources):
            series = load_bars(name)
            market_base = series.symbol.split("/")[0]
            market = _Market(
                f"{market_base}{quote}", market_base, _replayed(series, start_bar + bars)
            )
            first = next(iter(self._markets.values()), None)
            if first is not None and [b[0] for b in first.bars] != [b[0] for b in market.bars]:
                raise ValueError(f"{name}: its bar times differ from {source}'s")
            self._markets[market.symbol] = market
        primary = next(iter(self._markets.values()))
        base = primary.base
        self.base, self.quote = base, quote
        self.symbol = primary.symbol
        self.unified_symbol = f"{base}/{quote}"
        self._bars = primary.bars
        self._interval_ms = self._bars[1][0] - self._bars[0][0]
        self.cursor = start_bar
        self.fee_rate, self.fill_cap = fee_rate, fill_cap
        self.tick_size, self.step_size = tick_size, step_size
        self.min_qty, self.min_notional = min_qty, min_notional
        self.can_withdraw = can_withdraw
        self.api_key, self.secret = api_key, secret
        start = balances if balances is not None else {base: D(1), quote: D(100_000)}
        self.free: dict[str, Decimal] = {
            quote: D(0),
            **{m.base: D(0) for m in self._markets.values()},
        }
        self.free.update(start)
        self.locked: dict[str, Decimal] = {a: D(0) for a in self.free}
        self.orders: dict[int, SimOrder] = {}
        self.trades: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self._next_order_id = 1000
        self._next_trade_id = 5000
        self._lose_replies: dict[str, int] = {"POST": 0, "DELETE": 0}
        self._lose_delay_s = 0.0
        self._rate_limited = 0
        self._hidden_lookups = 0
        self._retry_after_s = 1
        self._reject_next: tuple[int, str] | None = None
        self._down = False
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # ---- test controls ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BinanceSpotSimulatorDouble:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def bars(self) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
        """The replayed bars as (open time ms, open, high, low, close, volume)."""
        return list(self._bars)

    @property
    def price(self) -> Decimal:
        """The current bar's close: where market orders fill."""
        return self._bars[self.cursor][4]

    def price_of(self, symbol: str) -> Decimal:
        """The current close of one market (``ETHUSD`` or ``ETH/USD``)."""
        return self._market(symbol.replace("/", "")).bars[self.cursor][4]

    def _market(self, symbol: str | None) -> _Market:
        market = self._markets.get(symbol or "")
        if market is None:
            raise _Refusal(400, -1121, "Invalid symbol.")
        return market

    def advance(self, bars: int = 1) -> None:
        """Move on ``bars`` bars, matching resting orders against each new bar."""
        with self._lock:
            for _ in range(bars):
                if self.cursor + 1 >= len(self._bars):
                    raise IndexError("the simulator's bar series is exhausted")
                self.cursor += 1
                for order in list(self.orders.values()):
                    if order.status not in ("NEW", "PARTIALLY_FILLED") or order.type != "LIMIT":
                        continue
                    _, _, high, low, _, _ = self._market(order.symbol).bars[self.cursor]
                    touched = low <= order.price if order.side == "BUY" else high >= order.price
                    if touched:
                        self._fill(order, order.price, maker=True)

    def lose_next_order_reply(self, delay_s: float = 0.0, method: str = "POST") -> None:
        """Carry out the next order request (``POST``: create, ``DELETE``: cancel), then
        never answer it: after ``delay_s`` the connection drops."""
        with self._lock:
            self._lose_replies[method] += 1
            self._lose_delay_s = delay_s

    def hide_next_lookups(self, lookups: int) -> None:
        """The next ``lookups`` order queries by client order id answer "does not exist"
        even when the order does (an order not yet visible after it was booked)."""
        with self._lock:
            self._hidden_lookups = lookups

    def rate_limit(self, requests: int, retry_after_s: int = 1) -> None:
        """Answer the next ``requests`` requests with 429 and ``Retry-After``."""
        with self._lock:
            self._rate_limited = requests
            self._retry_after_s = retry_after_s

    def reject_next_order(
        self, code: int = -2010, msg: str = "Order would trigger immediately."
    ) -> None:
        """Refuse the next new order with this Binance error (HTTP 400)."""
        with self._lock:
            self._reject_next = (code, msg)

    def set_down(self, down: bool) -> None:
        """While down every request is answered 503 Service Unavailable."""
        with self._lock:
            self._down = down

    def place_by_hand(
        self,
        side: str,
        qty: Decimal,
        price: Decimal,
        client_order_id: str,
        symbol: str | None = None,
    ) -> SimOrder:
        """An order placed on the account outside SIGMAX (as from the exchange's web page),
        on the first market unless ``symbol`` (``ETHUSD``) names another."""
        with self._lock:
            return self._new_order(
                {
                    "symbol": symbol or self.symbol,
                    "side": side,
                    "type": "LIMIT",
                    "quantity": str(qty),
                    "price": str(price),
                    "timeInForce": "GTC",
                    "newClientOrderId": client_order_id,
                }
            )

    def orders_with_client_id(self, client_order_id: str) -> list[SimOrder]:
        with self._lock:
            return [o for o in self.orders.values() if o.client_order_id == client_order_id]

    def order_requests(self) -> list[tuple[str, str]]:
        """The order-changing requests seen (create and cancel)."""
        return [(m, p) for m, p in self.requests if p == "/api/v3/order" and m != "GET"]

    # ---- matching --------------------------------------------------------------

    def _filters_ok(self, qty: Decimal, price: Decimal, is_limit: bool) -> None:
        if qty < self.min_qty or qty % self.step_size != 0:
            raise _Refusal(400, -1013, "Filter failure: LOT_SIZE")
        if is_limit and (price <= 0 or price % self.tick_size != 0):
            raise _Refusal(400, -1013, "Filter failure: PRICE_FILTER")
        if qty * price < self.min_notional:
            raise _Refusal(400, -1013, "Filter failure: NOTIONAL")

    def _new_order(self, p: dict[str, str]) -> SimOrder:
        market = self._market(p.get("symbol"))
        close = market.bars[self.cursor][4]
        side, kind = p.get("side", ""), p.get("type", "")
        if side not in ("BUY", "SELL") or kind not in ("MARKET", "LIMIT"):
            raise _Refusal(400, -1116, "Invalid orderType.")
        cid = p.get("newClientOrderId") or f"sim-{self._next_order_id}"
        if any(
            o.client_order_id == cid and o.status in ("NEW", "PARTIALLY_FILLED")
            for o in self.orders.values()
        ):
            raise _Refusal(400, -2010, "Duplicate order sent.")
        qty = D(p.get("quantity", "0"))
        price = D(p["price"]) if kind == "LIMIT" else D(0)
        self._filters_ok(qty, price if kind == "LIMIT" else close, kind == "LIMIT")
        if self._reject_next is not None:
            code, msg = self._reject_next
            self._reject_next = None
            raise _Refusal(400, code, msg)
        # reserve funds like Binance: quote for buys (with fees), base for sells
        reserve_price = price if kind == "LIMIT" else close
        asset, amount = (
            (self.quote, qty * reserve_price * (1 + self.fee_rate))
            if side == "BUY"
            else (market.base, qty)
        )
        if self.free.get(asset, D(0)) < amount:
            raise _Refusal(400, -2010, "Account has insufficient balance for requested action.")
        self.free[asset] -= amount
        self.locked[asset] = self.locked.get(asset, D(0)) + amount
        self._next_order_id += 1
        order = SimOrder(
            self._next_order_id,
            cid,
            market.symbol,
            side,
            kind,
            qty,
            price,
            p.get("timeInForce", "GTC"),
            _now_ms(),
        )
        order.reserved = amount
        self.orders[order.order_id] = order
        marketable = kind == "MARKET" or (close <= price if side == "BUY" else close >= price)
        if marketable:
            self._fill(order, close, maker=False, uncapped=kind == "MARKET")
        return order

    def _fill(
        self, order: SimOrder, price: Decimal, *, maker: bool, uncapped: bool = False
    ) -> None:
        qty = order.qty - order.executed
        if self.fill_cap is not None and not uncapped:
            qty = min(qty, self.fill_cap)
        qty = qty.quantize(self.step_size, rounding=ROUND_DOWN)
        if qty <= 0:
            return
        notional = qty * price
        fee = notional * self.fee_rate
        reserved = order.reserved
        base = self._market(order.symbol).base
        if order.side == "BUY":
            spent = notional + fee
            # a buy reserved at its limit (or the close) spends at most that per unit
            release = min(reserved, spent)
            self.locked[self.quote] -= release
            order.reserved = reserved - release
            self.free[self.quote] -= spent - release
            self.free[base] += qty
        else:
            self.locked[base] -= qty
            order.reserved = reserved - qty
            self.free[self.quote] += notional - fee
        self._next_trade_id += 1
        trade = {
            "symbol": order.symbol,
            "id": self._next_trade_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "price": _num(price),
            "qty": _num(qty),
            "quoteQty": _num(notional),
            "commission": _num(fee),
            "commissionAsset": self.quote,
            "time": _now_ms(),
            "isBuyer": order.side == "BUY",
            "isMaker": maker,
            "isBestMatch": True,
        }
        self.trades.append(trade)
        order.fills.append(
            {
                "price": _num(price),
                "qty": _num(qty),
                "commission": _num(fee),
                "commissionAsset": self.quote,
                "tradeId": trade["id"],
            }
        )
        order.executed += qty
        order.quote += notional
        if order.executed == order.qty:
            order.status = "FILLED"
            self._release(order)
        else:
            order.status = "PARTIALLY_FILLED"

    def _release(self, order: SimOrder) -> None:
        reserved = order.reserved
        asset = self.quote if order.side == "BUY" else self._market(order.symbol).base
        self.locked[asset] -= reserved
        self.free[asset] += reserved
        order.reserved = D(0)

    def _find(self, p: dict[str, str]) -> SimOrder:
        if "orderId" in p:
            order = self.orders.get(int(p["orderId"]))
        else:
            cid = p.get("origClientOrderId", "")
            matches = [o for o in self.orders.values() if o.client_order_id == cid]
            order = matches[-1] if matches else None
            if self._hidden_lookups > 0:
                self._hidden_lookups -= 1
                order = None
        if order is None or order.symbol != p.get("symbol"):
            raise _Refusal(400, -2013, "Order does not exist.")
        return order

    # ---- HTTP ------------------------------------------------------------------

    def _route(self, method: str, path: str, p: dict[str, str]) -> tuple[Any, bool]:
        """The JSON answer and whether to lose it (order reply lost)."""
        if path == "/api/v3/ping":
            return {}, False
        if path == "/api/v3/time":
            return {"serverTime": _now_ms()}, False
        if path == "/api/v3/exchangeInfo":
            return self._exchange_info(), False
        if path == "/api/v3/klines":
            return self._klines(p), False
        if path == "/api/v3/account":
            return self._account(), False
        if path in ("/sapi/v1/margin/allPairs", "/sapi/v1/margin/isolated/allPairs"):
            return [], False  # spot only: no margin pairs
        if path == "/sapi/v1/account/apiRestrictions":
            return self._restrictions(), False
        if path == "/api/v3/order" and method == "POST":
            order = self._new_order(p)
            lose = self._take_lost("POST")
            answer = order.as_json() | {"transactTime": order.time_ms, "fills": order.fills}
            return answer, lose
        if path == "/api/v3/order" and method == "GET":
            return self._find(p).as_json(), False
        if path == "/api/v3/order" and method == "DELETE":
            order = self._find(p)
            if order.status not in ("NEW", "PARTIALLY_FILLED"):
                raise _Refusal(400, -2011, "Unknown order sent.")
            order.status = "CANCELED"
            self._release(order)
            return order.as_json(), self._take_lost("DELETE")
        if path == "/api/v3/openOrders":
            return [
                o.as_json()
                for o in self.orders.values()
                if o.status in ("NEW", "PARTIALLY_FILLED")
                and ("symbol" not in p or o.symbol == p["symbol"])
            ], False
        if path == "/api/v3/myTrades":
            return self._my_trades(p), False
        raise _Refusal(404, -1000, f"the simulator does not serve {method} {path}")

    def _take_lost(self, method: str) -> bool:
        if self._lose_replies[method] > 0:
            self._lose_replies[method] -= 1
            return True
        return False

    def _exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": _now_ms(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [
                {
                    "symbol": market.symbol,
                    "status": "TRADING",
                    "baseAsset": market.base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": self.quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"],
                    "icebergAllowed": False,
                    "ocoAllowed": False,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": _num(self.tick_size),
                            "maxPrice": "10000000.00000000",
                            "tickSize": _num(self.tick_size),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": _num(self.min_qty),
                            "maxQty": "9000.00000000",
                            "stepSize": _num(self.step_size),
                        },
                        {
                            "filterType": "NOTIONAL",
                            "minNotional": _num(self.min_notional),
                            "applyMinToMarket": True,
                            "maxNotional": "9000000.00000000",
                            "applyMaxToMarket": False,
                            "avgPriceMins": 5,
                        },
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                }
                for market in self._markets.values()
            ],
        }

    def _klines(self, p: dict[str, str]) -> list[list[Any]]:
        limit = int(p.get("limit", "500"))
        upto = self._market(p.get("symbol")).bars[: self.cursor + 1]
        if "startTime" in p:
            upto = [b for b in upto if b[0] >= int(p["startTime"])]
            rows = upto[:limit]
        else:
            rows = upto[-limit:]
        return [
            [
                ts,
                _num(o),
                _num(h),
                _num(lo),
                _num(c),
                _num(v),
                ts + self._interval_ms - 1,
                "0",
                0,
                "0",
                "0",
                "0",
            ]
            for ts, o, h, lo, c, v in rows
        ]

    def _account(self) -> dict[str, Any]:
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": self.can_withdraw,
            "canDeposit": True,
            "updateTime": _now_ms(),
            "accountType": "SPOT",
            "balances": [
                {"asset": a, "free": _num(self.free[a]), "locked": _num(self.locked.get(a, D(0)))}
                for a in sorted(self.free)
            ],
            "permissions": ["SPOT"],
        }

    def _restrictions(self) -> dict[str, Any]:
        return {
            "ipRestrict": False,
            "createTime": _now_ms(),
            "enableReading": True,
            "enableSpotAndMarginTrading": True,
            "enableWithdrawals": self.can_withdraw,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": False,
            "permitsUniversalTransfer": False,
        }

    def _my_trades(self, p: dict[str, str]) -> list[dict[str, Any]]:
        rows = [t for t in self.trades if t["symbol"] == p.get("symbol")]
        if "orderId" in p:
            rows = [t for t in rows if t["orderId"] == int(p["orderId"])]
        if "startTime" in p:
            rows = [t for t in rows if t["time"] >= int(p["startTime"])]
        return rows[: int(p.get("limit", "500"))]

    def _authenticate(self, headers: Any, raw: str, p: dict[str, str], path: str) -> None:
        if path not in (
            "/api/v3/account",
            "/api/v3/order",
            "/api/v3/openOrders",
            "/api/v3/myTrades",
            "/sapi/v1/account/apiRestrictions",
            "/sapi/v1/margin/allPairs",
            "/sapi/v1/margin/isolated/allPairs",
        ):
            return
        if headers.get("X-MBX-APIKEY") != self.api_key:
            raise _Refusal(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, sep, signature = raw.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not sep or not hmac.compare_digest(signature, expected):
            raise _Refusal(400, -1022, "Signature for this request is not valid.")
        window = int(p.get("recvWindow", "5000"))
        if abs(_now_ms() - int(p.get("timestamp", "0"))) > window:
            raise _Refusal(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                raw = body if method in ("POST", "PUT") and body else parts.query
                params = dict(parse_qsl(parts.query)) | dict(parse_qsl(body))
                with sim._lock:
                    sim.requests.append((method, parts.path))
                    if sim._down:
                        self._send(
                            503, b"<html>503 Service Temporarily Unavailable</html>", "text/html"
                        )
                        return
                    if sim._rate_limited > 0:
                        sim._rate_limited -= 1
                        self._send(
                            429,
                            json.dumps({"code": -1003, "msg": "Too many requests."}).encode(),
                            extra={"Retry-After": str(sim._retry_after_s)},
                        )
                        return
                    try:
                        sim._authenticate(self.headers, raw, params, parts.path)
                        answer, lose = sim._route(method, parts.path, params)
                    except _Refusal as refusal:
                        text = json.dumps({"code": refusal.code, "msg": refusal.msg})
                        self._send(refusal.status, text.encode())
                        return
                    delay = sim._lose_delay_s
                if lose:
                    time.sleep(delay)
                    self.close_connection = True
                    self.connection.close()  # the reply never arrives
                    return
                self._send(200, json.dumps(answer).encode())

            def _send(
                self,
                status: int,
                data: bytes,
                content_type: str = "application/json;charset=UTF-8",
                extra: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def do_DELETE(self) -> None:  # noqa: N802
                self._serve("DELETE")

            def do_PUT(self) -> None:  # noqa: N802
                self._serve("PUT")

        return Handler


def _now_ms() -> int:
    return int(time.time() * 1000)
