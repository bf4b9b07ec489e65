"""Pre-trade rules. Each is a small function of one order's impact and the limits.

Every rule returns a :class:`~sigmax.model.RiskCheck`; a rejection's detail names the
numbers it compared. A disabled limit (``None``) passes with detail ``"disabled"``.
Exposure limits never block an order that makes the exposure smaller, so positions
can always be reduced even when a price move pushed them over a limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache

from sigmax.model import RiskCheck
from sigmax.risk.config import RiskConfig
from sigmax.risk.context import OrderImpact
from sigmax.risk.state import TradingState

Rule = Callable[[OrderImpact, RiskConfig], RiskCheck]

_NS_PER_MINUTE = 60_000_000_000


def money(value: Decimal) -> str:
    """Format a notional or price with thousands separators and 2 decimals."""
    return f"{value:,.2f}"


def pct(value: Decimal | float) -> str:
    return f"{value * 100:.2f}%"


def _ok(rule: str, detail: str) -> RiskCheck:
    return RiskCheck(rule, True, detail)


def _ok_later(rule: str, template: str, *args: object) -> RiskCheck:
    """A pass whose detail is ``template.format(*args)``, made only if someone reads it."""
    return RiskCheck.deferred(rule, True, template.format, *args)


# Checks whose detail never varies, made once (a check is immutable): every order
# asks for them, and a backtest sends thousands.
_DISABLED = {
    rule: RiskCheck(rule, True, "disabled")
    for rule in (
        "max_order_notional",
        "max_position_notional",
        "max_gross_exposure",
        "max_leverage",
        "max_open_positions",
        "price_band",
        "max_orders_per_minute",
    )
}
_RUNNING = RiskCheck("trading_state", True, "running")
_NOT_REDUCE_ONLY = RiskCheck("reduce_only", True, "not reduce-only")


@lru_cache(maxsize=1024)
def _not_restricted(symbol: str) -> RiskCheck:
    return RiskCheck("restricted_symbol", True, f"{symbol} not restricted")


def _fail(rule: str, detail: str) -> RiskCheck:
    return RiskCheck(rule, False, detail)


def check_trading_state(state: TradingState, reason: str, impact: OrderImpact) -> RiskCheck:
    """RUNNING passes; PAUSED passes reduce-only orders that shrink; KILLED passes nothing."""
    rule = "trading_state"
    if state is TradingState.RUNNING:
        return _RUNNING
    if state is TradingState.KILLED:
        return _fail(rule, f"kill switch engaged: {reason}")
    if impact.order.reduce_only and impact.shrinks_position:
        return _ok(rule, f"paused ({reason}); reduce-only order shrinks the position")
    return _fail(rule, f"trading paused ({reason}); only reduce-only orders that shrink pass")


def check_emergency_order(impact: OrderImpact) -> RiskCheck:
    """The emergency path's only rule: a reduce-only order that shrinks the position."""
    rule = "emergency_reduce_only"
    order = impact.order
    if order.reduce_only and impact.shrinks_position:
        return _ok(rule, f"reduces position {impact.pre_qty} to {impact.post_qty}")
    return _fail(
        rule,
        f"only reduce-only orders that shrink a position pass the emergency path; "
        f"{order.side} {order.qty} (reduce_only={order.reduce_only}) would take position "
        f"{impact.pre_qty} to {impact.post_qty}",
    )


def check_restricted_symbol(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    rule = "restricted_symbol"
    symbol = impact.order.symbol
    if symbol in config.restricted_symbols:
        return _fail(rule, f"symbol {symbol} is on the restricted list")
    return _not_restricted(symbol)


def check_reduce_only(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    """A reduce-only order must shrink the position without flipping it."""
    rule = "reduce_only"
    if not impact.order.reduce_only:
        return _NOT_REDUCE_ONLY
    if impact.shrinks_position:
        return _ok_later(rule, "reduces position {} to {}", impact.pre_qty, impact.post_qty)
    return _fail(
        rule,
        f"reduce-only {impact.order.side} {impact.order.qty} would take position "
        f"{impact.pre_qty} to {impact.post_qty}",
    )


def check_short_selling(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    rule = "allow_short"
    if config.allow_short or impact.post_qty >= 0:
        return _ok_later(rule, "post-trade position {}", impact.post_qty)
    if impact.post_qty >= impact.pre_qty:
        return _ok_later(rule, "short position {} shrinks to {}", impact.pre_qty, impact.post_qty)
    return _fail(rule, f"post-trade position {impact.post_qty} < 0 and shorting is not allowed")


def check_order_notional(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    rule = "max_order_notional"
    limit = config.max_order_notional
    notional = impact.order_notional
    if limit is None:
        return _DISABLED[rule]
    if notional > limit:
        return _fail(rule, f"order notional {money(notional)} > limit {money(limit)}")
    return _ok_later(rule, "order notional {:,.2f} <= limit {:,.2f}", notional, limit)


def check_position_notional(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    rule = "max_position_notional"
    limit = config.position_limit(impact.order.symbol)
    post = abs(impact.post_notional)
    if limit is None:
        return _DISABLED[rule]
    if post <= limit:
        return _ok_later(rule, "position notional {:,.2f} <= limit {:,.2f}", post, limit)
    if post <= abs(impact.pre_notional):
        return _ok_later(
            rule,
            "position notional does not grow: {:,.2f} -> {:,.2f} (limit {:,.2f})",
            abs(impact.pre_notional),
            post,
            limit,
        )
    return _fail(
        rule,
        f"{impact.order.symbol} position notional {money(post)} > limit {money(limit)}",
    )


def _book_after(impact: OrderImpact) -> tuple[list[Decimal], list[Decimal]]:
    """Signed notionals of every symbol before and after the order."""
    symbol = impact.order.symbol
    others = [n for s, n in impact.ctx.positions_notional.items() if s != symbol]
    return others + [impact.pre_notional], others + [impact.post_notional]


def _exposure_check(
    rule: str, label: str, pre: Decimal, post: Decimal, limit: Decimal | None, equity: Decimal
) -> RiskCheck:
    if limit is None:
        return _DISABLED[rule]
    if post == 0:
        return _ok_later(rule, "{} 0.00", label)
    multiple = post / equity if equity > 0 else None
    if multiple is not None and multiple <= limit:
        return _ok_later(rule, "{} {:.2f}x equity <= limit {:.2f}x", label, multiple, limit)
    if post <= pre:
        return _ok_later(rule, "{} does not grow: {:,.2f} -> {:,.2f}", label, pre, post)
    if multiple is None:
        return _fail(rule, f"{label} {money(post)} with equity {money(equity)} <= 0")
    return _fail(
        rule,
        f"{label} {money(post)} is {multiple:.2f}x equity {money(equity)} > limit {limit:.2f}x",
    )


def _alone(impact: OrderImpact) -> bool:
    """Whether the book holds nothing but the order's symbol (then every exposure is
    that symbol's alone: the sums below reduce to it, with the same values)."""
    book = impact.ctx.positions_notional
    return len(book) == 0 or (len(book) == 1 and impact.order.symbol in book)


def check_gross_exposure(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    """Sum of |notional| over all symbols after the order, as a multiple of equity."""
    if config.max_gross_exposure is None:
        return _DISABLED["max_gross_exposure"]
    if _alone(impact):
        pre, post = abs(impact.pre_notional), abs(impact.post_notional)
    else:
        before, after = _book_after(impact)
        pre = sum((abs(n) for n in before), Decimal(0))
        post = sum((abs(n) for n in after), Decimal(0))
    return _exposure_check(
        "max_gross_exposure",
        "gross exposure",
        pre,
        post,
        config.max_gross_exposure,
        impact.ctx.equity,
    )


def check_leverage(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    """|Net signed notional| over all symbols after the order, as a multiple of equity."""
    if config.max_leverage is None:
        return _DISABLED["max_leverage"]
    if _alone(impact):
        pre, post = abs(impact.pre_notional), abs(impact.post_notional)
    else:
        before, after = _book_after(impact)
        pre = abs(sum(before, Decimal(0)))
        post = abs(sum(after, Decimal(0)))
    return _exposure_check(
        "max_leverage", "net exposure", pre, post, config.max_leverage, impact.ctx.equity
    )


def check_open_positions(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    """Symbols with a position after the order, across the book, against the limit."""
    rule = "max_open_positions"
    limit = config.max_open_positions
    if limit is None:
        return _DISABLED[rule]
    symbol = impact.order.symbol
    others = [s for s, n in impact.ctx.positions_notional.items() if s != symbol and n != 0]
    count = len(others) + (impact.post_qty != 0)
    if count <= limit or impact.pre_qty != 0:
        return _ok_later(rule, "{} open positions after the order (limit {})", count, limit)
    held = ", ".join(sorted(others))
    return _fail(
        rule,
        f"opening {symbol} would make {count} open positions > limit {limit} (held: {held})",
    )


def check_price_band(impact: OrderImpact, config: RiskConfig) -> RiskCheck:
    """Fat finger: every price on the order must lie within the band around the last price."""
    rule = "price_band"
    band = config.price_band_pct
    if band is None:
        return _DISABLED[rule]
    order, last = impact.order, impact.ctx.last_price
    if order.limit_price is None and order.stop_price is None:
        worst = impact.order_price
    else:
        prices = [p for p in (order.limit_price, order.stop_price) if p is not None]
        worst = max(prices, key=lambda p: abs(p - last))
    deviation = abs(worst - last) / last
    if deviation > band:
        return _fail(
            rule,
            f"price {money(worst)} is {pct(deviation)} from last {money(last)} > band {pct(band)}",
        )
    return RiskCheck.deferred(rule, True, _within_band, worst, band, last)


def _within_band(worst: Decimal, band: Decimal, last: Decimal) -> str:
    return f"price {money(worst)} within {pct(band)} of last {money(last)}"


PRICE_AND_SIZE_RULES: tuple[Rule, ...] = (
    check_restricted_symbol,
    check_reduce_only,
    check_short_selling,
    check_order_notional,
    check_position_notional,
    check_gross_exposure,
    check_leverage,
    check_open_positions,
    check_price_band,
)


class OrderRateLimiter:
    """Counts approved orders in a rolling 60 s window of the caller's (simulated) clock."""

    __slots__ = ("_times",)

    def __init__(self, times: list[int] | None = None) -> None:
        self._times: deque[int] = deque(sorted(times or ()))

    def check(self, ts_ns: int, limit: int | None) -> RiskCheck:
        rule = "max_orders_per_minute"
        if limit is None:
            return _DISABLED[rule]
        self._evict(ts_ns)
        count = len(self._times)
        if count >= limit:
            return _fail(rule, f"{count} orders in the last 60s >= limit {limit}")
        return _ok_later(rule, "{} orders in the last 60s < limit {}", count, limit)

    def record(self, ts_ns: int) -> None:
        self._times.append(ts_ns)

    def times(self) -> list[int]:
        """Timestamps (ns) of the approved orders still inside the window."""
        return list(self._times)

    def _evict(self, ts_ns: int) -> None:
        cutoff = ts_ns - _NS_PER_MINUTE
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()
