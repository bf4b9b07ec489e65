"""Value types shared by every part of SIGMAX: backtest and live use the same ones.

Hot loops work on the numpy arrays of :class:`BarSeries`; the dataclasses below are
created only at events (an order, a fill, a decision), so they stay cheap and exact:
quantities, prices, fees and cash are :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from sigmax.errors import InvalidInputError

OHLCV = ("open", "high", "low", "close", "volume")

_T = TypeVar("_T")


def quick_init(cls: type[_T]) -> type[_T]:
    """Give a frozen, slotted dataclass an ``__init__`` that sets each slot through its
    descriptor instead of ``object.__setattr__``: the same parameters, defaults and
    ``__post_init__``, the instance as frozen as before, in about half the time (a
    backtest makes these at every order and fill). Fields must be plain: positional,
    in ``__init__``, no default factory."""
    names: dict[str, Any] = {}
    params, body = [], []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"quick_init: field {cls.__name__}.{f.name} is not plain")
        names[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    # the source is built from the class's own field names only (as dataclasses does)
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body)
    exec(source, names)  # noqa: S102  # nosec B102
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Exact decimal of a price or quantity; floats go through their shortest repr."""
    if type(value) is float:  # the common case first
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(float(value)))  # float(): numpy scalars repr as np.float64(...)
    return Decimal(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts_from_ns(ns: int | np.integer) -> datetime:
    """UTC datetime of an int64 nanosecond epoch timestamp (the BarSeries.ts unit);
    nanoseconds below a microsecond are floored, as pandas' ``to_pydatetime`` does."""
    # positional (days, seconds, microseconds): an int there is taken as is, where the
    # keyword form goes through a slower general path (a third of the time, same value)
    return _EPOCH + timedelta(0, 0, int(ns) // 1000)


def iso_from_ns(ns: int | np.integer) -> str:
    """ISO 8601 text (UTC) of an int64 nanosecond epoch timestamp, as reports write it."""
    return cast(str, pd.Timestamp(int(ns), tz="UTC").isoformat())


@quick_init
@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle; ``ts`` is the bar's open time in UTC."""

    symbol: str
    timeframe: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class BarSeries:
    """A whole series of bars of one symbol as aligned numpy arrays.

    ``ts`` holds int64 nanoseconds since the epoch (UTC, bar open time), strictly
    increasing. Prices and volume are float64.
    """

    symbol: str
    timeframe: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def __getitem__(self, index: slice) -> BarSeries:
        if not isinstance(index, slice):
            raise TypeError("BarSeries supports slicing only; use bar(i) for one bar")
        return BarSeries(
            self.symbol,
            self.timeframe,
            self.ts[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.volume[index],
        )

    def bar(self, i: int) -> Bar:
        return Bar(
            self.symbol,
            self.timeframe,
            ts_from_ns(self.ts.item(i)),  # item(): a Python int or float, no numpy scalar
            float(self.open.item(i)),
            float(self.high.item(i)),
            float(self.low.item(i)),
            float(self.close.item(i)),
            float(self.volume.item(i)),
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, symbol: str, timeframe: str) -> BarSeries:
        """From a frame with a UTC DatetimeIndex (or ``ts`` column) and OHLCV columns."""
        if "ts" in frame.columns:
            index = pd.DatetimeIndex(frame["ts"])
        else:
            index = pd.DatetimeIndex(frame.index)
        if index.tz is None:
            index = index.tz_localize("UTC")
        ts = index.tz_convert("UTC").as_unit("ns").asi8.copy()
        arrays = [frame[c].to_numpy(dtype=np.float64, copy=True) for c in OHLCV]
        return cls(symbol, timeframe, ts, *arrays)

    def to_frame(self) -> pd.DataFrame:
        index = pd.DatetimeIndex(pd.to_datetime(self.ts, unit="ns", utc=True), name="ts")
        return pd.DataFrame({c: getattr(self, c) for c in OHLCV}, index=index)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled
    IOC = "ioc"  # immediate or cancel: whatever does not fill on the first bar is cancelled


class OrderStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@quick_init
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy or operator asks for; the order manager turns it into an Order.

    ``client_order_id`` makes submission idempotent: the same id twice is one order.
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise InvalidInputError("order: client_order_id must not be empty")
        if self.qty <= 0:
            raise InvalidInputError(
                f"order {self.client_order_id}: qty must be > 0, got {self.qty}"
            )
        if self.type is OrderType.MARKET and self.limit_price is None and self.stop_price is None:
            return  # the common case: nothing below can fail
        needs_limit = self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise InvalidInputError(
                f"order {self.client_order_id}: {self.type} order "
                f"{'needs' if needs_limit else 'takes no'} limit_price"
            )
        if needs_stop != (self.stop_price is not None):
            raise InvalidInputError(
                f"order {self.client_order_id}: {self.type} order "
                f"{'needs' if needs_stop else 'takes no'} stop_price"
            )
        for name in ("limit_price", "stop_price"):
            price = getattr(self, name)
            if price is not None and price <= 0:
                raise InvalidInputError(
                    f"order {self.client_order_id}: {name} must be > 0, got {price}"
                )


@dataclass(slots=True)
class Order:
    """An order's live state, changed only by the execution package's state machine."""

    request: OrderRequest
    status: OrderStatus
    created_ts: datetime
    updated_ts: datetime
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    fees: Decimal = Decimal(0)
    venue_order_id: str | None = None
    reason: str | None = None  # why it was rejected, cancelled or expired

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    def copy(self) -> Order:
        """A separate copy of this state (dataclasses.replace is five times slower)."""
        return Order(
            self.request,
            self.status,
            self.created_ts,
            self.updated_ts,
            self.filled_qty,
            self.avg_fill_price,
            self.fees,
            self.venue_order_id,
            self.reason,
        )

    @property
    def remaining_qty(self) -> Decimal:
        return self.request.qty - self.filled_qty


@quick_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution against an order. ``fee`` is in the quote currency.

    ``reference_price`` is the price the order was decided at (a bar's close): the fill
    against it is the implementation shortfall, market moves included. ``expected_price``
    is the price the venue expected the order to fill at before its own costs (the paper
    exchange: the open of the bar a market order fills in, a stop's trigger, a limit);
    the fill against it is the slippage the breaker judges. A venue that does not know
    it (a live exchange, whose fills follow the decision within seconds) leaves it None
    and the reference stands in.
    """

    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime
    liquidity: Liquidity
    reference_price: Decimal | None = None  # price the order was decided at
    expected_price: Decimal | None = None  # price expected at the fill, before costs

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price

    @property
    def slippage(self) -> float:
        """Adverse price move against the expected price (the reference when the venue
        gave none), as a fraction (positive = worse)."""
        expected = self.expected_price if self.expected_price is not None else self.reference_price
        return _adverse(self.price, expected, self.side)

    @property
    def shortfall(self) -> float:
        """Adverse price move against the price the order was decided at (implementation
        shortfall: slippage plus the market's move in between), as a fraction."""
        return _adverse(self.price, self.reference_price, self.side)


def _adverse(price: Decimal, against: Decimal | None, side: Side) -> float:
    if against is None or against == 0:
        return 0.0
    move = (price - against) / against
    return float(move if side is Side.BUY else -move)


@quick_init
@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    qty: Decimal  # signed: > 0 long, < 0 short
    avg_price: Decimal
    realized_pnl: Decimal = Decimal(0)

    def market_value(self, price: Decimal) -> Decimal:
        return self.qty * price

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        return (price - self.avg_price) * self.qty


@dataclass(frozen=True, slots=True)
class Signal:
    """One analyst's view at one bar.

    ``score`` in [-1, 1] (bearish to bullish), ``confidence`` in [0, 1]; ``evidence``
    holds the numbers the rationale rests on (indicator values by name).
    """

    agent: str
    score: float
    confidence: float
    rationale: str
    evidence: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"signal from {self.agent}: score {self.score} outside [-1, 1]")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(
                f"signal from {self.agent}: confidence {self.confidence} outside [0, 1]"
            )


class RiskCheck:
    """The outcome of one risk rule for one order: immutable, compared by value.

    ``detail`` says why, with the numbers compared. A rule may give it as a function
    and its arguments instead (:meth:`deferred`): the text is made when first read.
    Most checks pass and nobody reads why, and a backtest checks thousands of orders;
    formatting Decimals took a fifth to a third of a check's time.
    """

    __slots__ = ("rule", "passed", "_detail", "_parts")
    __match_args__ = ("rule", "passed", "detail")

    rule: str
    passed: bool
    _detail: str | None
    _parts: tuple[Callable[..., str], tuple[Any, ...]] | None

    def __init__(self, rule: str, passed: bool, detail: str) -> None:
        _set_rule(self, rule)
        _set_passed(self, passed)
        _set_detail(self, detail)
        _set_parts(self, None)

    @classmethod
    def deferred(cls, rule: str, passed: bool, make: Callable[..., str], *args: Any) -> RiskCheck:
        """A check whose detail is ``make(*args)``, called once when first read (the
        arguments must not change: numbers, strings, Decimals)."""
        check = object.__new__(cls)
        _set_rule(check, rule)
        _set_passed(check, passed)
        _set_detail(check, None)
        _set_parts(check, (make, args))
        return check

    @property
    def detail(self) -> str:
        text = self._detail
        if text is None:
            parts = self._parts
            assert parts is not None  # one of the two is always set
            text = parts[0](*parts[1])
            # the parts stay: a thread reading at the same time formats them too
            _set_detail(self, text)
        return text

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[str, bool, str]:
        return (self.rule, self.passed, self.detail)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RiskCheck):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"RiskCheck(rule={self.rule!r}, passed={self.passed!r}, detail={self.detail!r})"

    def __reduce__(self) -> tuple[type[RiskCheck], tuple[str, bool, str]]:
        return (RiskCheck, self._key())


# the slots' own setters: RiskCheck refuses assignment, and these are the fast way in
_set_rule = vars(RiskCheck)["rule"].__set__
_set_passed = vars(RiskCheck)["passed"].__set__
_set_detail = vars(RiskCheck)["_detail"].__set__
_set_parts = vars(RiskCheck)["_parts"].__set__


@quick_init
@dataclass(frozen=True, slots=True)
class RiskVerdict:
    approved: bool
    checks: tuple[RiskCheck, ...]

    @property
    def failed(self) -> tuple[RiskCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def reason(self) -> str:
        failed = self.failed
        if not failed:
            return "approved"
        return "; ".join(f"{c.rule}: {c.detail}" for c in failed)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the decision graph concluded at one bar, with everything it rested on.

    ``target_position`` is the wanted exposure as a fraction of equity in [-1, 1].
    ``signals`` holds every agent's signal; ``missing`` names agents that gave none.
    """

    ts: datetime
    symbol: str
    target_position: float
    signals: tuple[Signal, ...]
    bull_case: str
    bear_case: str
    rationale: str
    missing: tuple[str, ...] = ()
    risk_verdict: RiskVerdict | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)
