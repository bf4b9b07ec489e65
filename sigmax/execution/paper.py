"""A simulated exchange that fills orders against OHLCV bars, with fees, slippage and volume caps.

Timing
    ``submit(request, ts)`` takes ``ts`` as the decision time. An order is first
    eligible on the first bar passed to :meth:`PaperExchange.on_bar` that opens at or
    after ``ts``; a decision taken at the close of bar t (``ts`` = bar t's open + its
    timeframe = bar t+1's open) therefore never fills on bar t's data and first trades
    on bar t+1. Bars of one symbol must arrive in strictly increasing time order.
    Fills are stamped with the bar's open time. Each fill carries the decision price it
    was submitted with (``reference_price``) and the price it was expected to fill at
    before the costs below (``expected_price``: the open, the trigger or the limit), so
    its slippage is judged on the costs, not on the gap from the decision's close.

Prices (``c`` = the config; bar prices become Decimals through their shortest repr)
    Taker slippage, in bps, is ``c.slippage_bps + c.spread_bps / 2 +
    c.impact_bps_per_participation × participation`` where participation is the fill
    quantity over the bar's volume (1 for a zero-volume bar). It moves the price
    against the trader: up for buys, down for sells; with ``c.price_tick`` set the
    result is rounded adversely to the tick.

    - Market: the bar's open plus slippage; taker.
    - Limit buy: fills when ``low <= limit``. If the bar opens at or through the limit
      (``open <= limit``) it is a taker fill at the open plus slippage, never above the
      limit; otherwise a maker fill at exactly the limit, no slippage. Sells mirror this.
    - Stop buy: triggers when ``high >= stop`` and fills as a taker at
      ``max(open, stop)`` plus slippage. Sells trigger at ``low <= stop`` and fill at
      ``min(open, stop)``. An untriggered stop waits; a triggered remainder (volume cap)
      fills as a market order on the next bars.
    - Stop-limit: triggers like a stop, at trigger price ``max(open, stop)`` (sells:
      ``min``). If the limit is marketable at the trigger price it fills at once as a
      taker, never beyond the limit. Otherwise it rests as a limit order that is first
      checked on the NEXT bar: an OHLC bar does not tell whether its low (high) came
      after the trigger, so we do not assume it did.

Quantities
    With ``c.max_participation`` set, an order fills at most ``max_participation ×
    volume`` per bar (rounded down to ``c.qty_step``); the rest waits for later bars.
    IOC orders are cancelled after their first eligible bar with whatever is unfilled.
    Orders whose quantity or prices are off ``qty_step`` / ``price_tick`` are REJECTED.

Fees
    ``fee = fee_bps / 10_000 × qty × price`` exactly, maker or taker rate by liquidity.
    With all costs zero and no cap, a market buy of q at next open p costs exactly q × p.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from math import isfinite
from typing import Any

from sigmax.execution.config import PaperExchangeConfig
from sigmax.execution.orders import OrderEvent, OrderManager
from sigmax.model import (
    Bar,
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

_BPS = Decimal(10_000)


@dataclass(slots=True)
class _Working:
    """The exchange-side state of one open order."""

    request: OrderRequest
    eligible_from: datetime
    reference_price: Decimal | None
    expire_ts: datetime | None = None
    triggered: bool = False
    fills: int = 0


class _Prices:
    """A bar's prices as Decimals; high and low (only limit and stop orders read
    them) are converted when first read."""

    __slots__ = ("ts", "open", "volume", "_high", "_low")

    def __init__(self, ts: datetime, open_: Decimal, high: float, low: float, volume: Decimal):
        self.ts, self.open, self.volume = ts, open_, volume
        self._high: float | Decimal = high
        self._low: float | Decimal = low

    @property
    def high(self) -> Decimal:
        high = self._high
        if not isinstance(high, Decimal):
            high = self._high = to_decimal(high)
        return high

    @property
    def low(self) -> Decimal:
        low = self._low
        if not isinstance(low, Decimal):
            low = self._low = to_decimal(low)
        return low


def _where(bar: Bar) -> str:
    return f"bar {bar.symbol} {bar.timeframe} at {bar.ts.isoformat()}"


class PaperExchange:
    """The simulated venue used by backtests and paper trading; see the module docstring."""

    def __init__(self, config: PaperExchangeConfig | None = None) -> None:
        self._config = config if config is not None else PaperExchangeConfig()
        self._orders = OrderManager()
        self._working: dict[str, dict[str, _Working]] = {}
        self._last_bar_ts: dict[str, datetime] = {}

    @property
    def config(self) -> PaperExchangeConfig:
        return self._config

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """Every order state change so far, oldest first."""
        return self._orders.events

    def submit(
        self,
        request: OrderRequest,
        ts: datetime,
        reference_price: Decimal | None = None,
        expire_ts: datetime | None = None,
    ) -> Order:
        """Accept (or reject) an order; it trades from the first bar opening at or after ts."""
        cid = request.client_order_id
        if cid in self._orders:
            return self._orders.submit(request, ts, expire_ts)
        if reference_price is not None and reference_price <= 0:
            raise ValueError(f"order {cid}: reference_price must be > 0, got {reference_price}")
        problem = self._check_increments(request)
        if problem is not None:
            self._orders.create(request, ts, expire_ts)
            return self._orders.reject(cid, ts, problem)
        order = self._orders.open(request, ts, f"paper-{len(self._orders) + 1}", expire_ts)
        working = _Working(request, ts, reference_price, expire_ts)
        self._working.setdefault(request.symbol, {})[cid] = working
        return order

    def restore(self, orders: Sequence[Order], fills: Sequence[Fill]) -> None:
        """Rebuild the exchange after a restart from persisted orders and fills.

        Open orders trade again from the next bar passed to :meth:`on_bar`; their
        reference price is taken from their last fill when they have one.
        """
        by_order: dict[str, list[Fill]] = {}
        for fill in fills:
            by_order.setdefault(fill.client_order_id, []).append(fill)
        for order in orders:
            own = by_order.get(order.client_order_id, [])
            self._orders.restore(order, own)
            if not order.status.is_terminal:
                reference = own[-1].reference_price if own else None
                expiry = self._orders.expiry(order.client_order_id)
                working = _Working(
                    order.request, order.updated_ts, reference, expiry, fills=len(own)
                )
                self._working.setdefault(order.request.symbol, {})[order.client_order_id] = working

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        """Cancel an open order; a terminal one raises IllegalTransitionError."""
        order = self._orders.cancel(client_order_id, ts, "cancelled by request")
        self._forget(order.request.symbol, client_order_id)
        return order

    def expire(self, client_order_id: str, ts: datetime) -> Order:
        """Expire an open order now."""
        order = self._orders.expire(client_order_id, ts, "expired by request")
        self._forget(order.request.symbol, client_order_id)
        return order

    def order(self, client_order_id: str) -> Order:
        return self._orders.order(client_order_id)

    def find_order(self, client_order_id: str) -> Order | None:
        """The order submitted under this client order id, or None if there is none."""
        return self._orders.order(client_order_id) if client_order_id in self._orders else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self._orders.open_orders(symbol)

    def activity(self) -> dict[str, Any]:
        """Orders by status and the number of fills (see OrderManager.activity)."""
        return self._orders.activity()

    def has_open_orders(self, symbol: str) -> bool:
        """Whether ``on_bar`` could do anything for this symbol (O(1))."""
        return bool(self._working.get(symbol))

    def on_bar(self, bar: Bar) -> list[Fill]:
        """Match the symbol's open orders against one new bar; returns the fills, in order."""
        prices = self._accept_bar(bar)
        working = self._working.get(bar.symbol)
        if not working:
            return []
        fills: list[Fill] = []
        for cid, w in list(working.items()):
            if bar.ts < w.eligible_from:
                continue
            expiry = w.expire_ts
            if expiry is not None and expiry <= bar.ts:
                self._orders.expire(cid, bar.ts, f"expired at {expiry.isoformat()}")
                del working[cid]
                continue
            fill = self._match(cid, w, prices)
            if fill is not None:
                fills.append(fill)
            self._settle(cid, w, working, bar.ts)
        if not working:
            del self._working[bar.symbol]
        return fills

    def _settle(self, cid: str, w: _Working, working: dict[str, _Working], ts: datetime) -> None:
        status = self._orders.status(cid)
        if status is OrderStatus.FILLED:
            del working[cid]
        elif w.request.tif is TimeInForce.IOC:
            self._orders.cancel(cid, ts, "IOC: unfilled remainder cancelled")
            del working[cid]

    def _forget(self, symbol: str, cid: str) -> None:
        working = self._working.get(symbol)
        if working is not None:
            working.pop(cid, None)
            if not working:
                del self._working[symbol]

    def _accept_bar(self, bar: Bar) -> _Prices:
        ts = bar.ts
        if ts.tzinfo is None:
            raise ValueError(f"{_where(bar)}: ts must be timezone-aware (UTC)")
        last = self._last_bar_ts.get(bar.symbol)
        if last is not None and ts <= last:
            raise ValueError(f"{_where(bar)}: not after the previous bar at {last.isoformat()}")
        o, h, lo, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
        if not (isfinite(o) and isfinite(h) and isfinite(lo) and isfinite(c) and isfinite(v)):
            raise ValueError(f"{_where(bar)}: non-finite price or volume {(o, h, lo, c, v)}")
        if not (0 < lo <= min(o, c) <= max(o, c) <= h):
            raise ValueError(f"{_where(bar)}: inconsistent OHLC {(o, h, lo, c, v)}")
        if v < 0:
            raise ValueError(f"{_where(bar)}: negative volume {v}")
        self._last_bar_ts[bar.symbol] = ts
        return _Prices(ts, to_decimal(o), h, lo, to_decimal(v))

    def _check_increments(self, request: OrderRequest) -> str | None:
        step, tick = self._config.qty_step, self._config.price_tick
        if step is None and tick is None:
            return None
        if step is not None and request.qty % step != 0:
            return f"qty {request.qty} is not a multiple of qty_step {step}"
        if tick is not None:
            for name in ("limit_price", "stop_price"):
                price = getattr(request, name)
                if price is not None and price % tick != 0:
                    return f"{name} {price} is not a multiple of price_tick {tick}"
        return None

    def _match(self, cid: str, w: _Working, px: _Prices) -> Fill | None:
        req = w.request
        if req.type is OrderType.MARKET:
            return self._taker(cid, w, px.open, px, None)
        if req.type is OrderType.LIMIT:
            return self._limit(cid, w, px)
        if w.triggered:
            if req.type is OrderType.STOP:
                return self._taker(cid, w, px.open, px, None)
            return self._limit(cid, w, px)
        trigger = _trigger_price(req, px)
        if trigger is None:
            return None
        w.triggered = True
        if req.type is OrderType.STOP:
            return self._taker(cid, w, trigger, px, None)
        assert req.limit_price is not None  # OrderRequest guarantees it for stop-limit
        if _marketable(req.side, trigger, req.limit_price):
            return self._taker(cid, w, trigger, px, req.limit_price)
        return None

    def _limit(self, cid: str, w: _Working, px: _Prices) -> Fill | None:
        req = w.request
        limit = req.limit_price
        assert limit is not None  # OrderRequest guarantees it for limit orders
        if req.side is Side.BUY and px.low > limit or req.side is Side.SELL and px.high < limit:
            return None
        if _marketable(req.side, px.open, limit):
            return self._taker(cid, w, px.open, px, limit)
        qty = self._fill_qty(cid, px.volume)
        return None if qty == 0 else self._fill(cid, w, px, qty, limit, Liquidity.MAKER, limit)

    def _taker(
        self, cid: str, w: _Working, base: Decimal, px: _Prices, limit: Decimal | None
    ) -> Fill | None:
        qty = self._fill_qty(cid, px.volume)
        if qty == 0:
            return None
        c = self._config
        participation = qty / px.volume if px.volume > 0 else Decimal(1)
        bps = c.slippage_bps + c.spread_bps / 2 + c.impact_bps_per_participation * participation
        sign = w.request.side.sign
        price = self._round_adverse(base * (1 + sign * bps / _BPS), w.request.side)
        if limit is not None:
            price = min(price, limit) if sign > 0 else max(price, limit)
        return self._fill(cid, w, px, qty, price, Liquidity.TAKER, base)

    def _fill(
        self,
        cid: str,
        w: _Working,
        px: _Prices,
        qty: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        expected: Decimal,
    ) -> Fill:
        """A fill at ``price``; ``expected`` is where it would be without the costs
        (the open, the trigger or the limit), the price its slippage is judged on."""
        c = self._config
        fee_bps = c.maker_fee_bps if liquidity is Liquidity.MAKER else c.taker_fee_bps
        w.fills += 1
        request = w.request
        fill = Fill(  # positional, in Fill's field order: a fill per bar is a hot path
            f"{cid}-{w.fills}",  # fill_id
            cid,
            request.symbol,
            request.side,
            qty,
            price,
            fee_bps / _BPS * qty * price,  # fee
            px.ts,
            liquidity,
            w.reference_price,
            expected,  # expected_price
        )
        self._orders.record_fill(fill)
        return fill

    def _fill_qty(self, cid: str, volume: Decimal) -> Decimal:
        remaining = self._orders.remaining_qty(cid)
        cap_share = self._config.max_participation
        if cap_share is None:
            return remaining
        cap = cap_share * volume
        step = self._config.qty_step
        if step is not None:
            cap = (cap / step).to_integral_value(ROUND_FLOOR) * step
        return min(remaining, cap)

    def _round_adverse(self, price: Decimal, side: Side) -> Decimal:
        tick = self._config.price_tick
        if tick is None:
            return price
        rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
        return (price / tick).to_integral_value(rounding) * tick


def _trigger_price(req: OrderRequest, px: _Prices) -> Decimal | None:
    stop = req.stop_price
    assert stop is not None  # OrderRequest guarantees it for stop orders
    if req.side is Side.BUY:
        return max(px.open, stop) if px.high >= stop else None
    return min(px.open, stop) if px.low <= stop else None


def _marketable(side: Side, price: Decimal, limit: Decimal) -> bool:
    """Whether a limit order can trade at once when the market is at ``price``."""
    return price <= limit if side is Side.BUY else price >= limit
