"""Each paper fill carries the price it was expected to fill at before the exchange's
costs, so its slippage is those costs, while the decision price stays its reference
(the implementation shortfall, market moves included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.model import Bar, Fill, Liquidity, OrderRequest, OrderType, Side

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
SYM = "BTC/USDT"
D = Decimal
COSTS = PaperExchangeConfig(slippage_bps=D(10), spread_bps=D(4))  # 12 bps on a taker


def _fill(request: OrderRequest, o: float, h: float, lo: float, c: float) -> Fill:
    ex = PaperExchange(COSTS)
    ex.submit(request, T0 + H, reference_price=D(100))  # decided at a close of 100
    (fill,) = ex.on_bar(Bar(SYM, "1h", T0 + H, o, h, lo, c, 1_000.0))
    return fill


def _order(
    kind: OrderType, side: Side = Side.BUY, limit: str | None = None, stop: str | None = None
) -> OrderRequest:
    return OrderRequest(
        "o",
        SYM,
        side,
        D(1),
        kind,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
    )


@pytest.mark.parametrize(("side", "sign"), [(Side.BUY, 1), (Side.SELL, -1)])
def test_a_market_order_after_a_gap_is_expected_at_the_open(side: Side, sign: int) -> None:
    fill = _fill(_order(OrderType.MARKET, side), 110, 111, 109, 110)  # opens 10 % away
    assert fill.expected_price == D(110) and fill.reference_price == D(100)
    assert fill.price == D(110) * (1 + sign * D("0.0012"))
    assert fill.slippage == pytest.approx(0.0012)
    assert fill.shortfall == pytest.approx(sign * float(fill.price / 100 - 1))


def test_a_stop_is_expected_at_its_trigger() -> None:
    fill = _fill(_order(OrderType.STOP, stop="105"), 101, 107, 100, 106)
    assert fill.expected_price == D(105)
    assert fill.slippage == pytest.approx(0.0012)


def test_a_marketable_limit_is_expected_at_the_open_and_a_resting_one_at_its_limit() -> None:
    taker = _fill(_order(OrderType.LIMIT, limit="102"), 101, 103, 100, 102)
    assert taker.liquidity is Liquidity.TAKER and taker.expected_price == D(101)
    maker = _fill(_order(OrderType.LIMIT, limit="99"), 101, 102, 98, 100)
    assert maker.liquidity is Liquidity.MAKER and maker.expected_price == D(99)
    assert maker.slippage == 0.0 and maker.shortfall == pytest.approx(-0.01)


def test_without_an_expected_price_the_reference_stands_in() -> None:
    fill = _fill(_order(OrderType.MARKET), 110, 111, 109, 110)
    live = Fill(*(getattr(fill, f) for f in Fill.__dataclass_fields__ if f != "expected_price"))
    assert live.expected_price is None
    assert live.slippage == live.shortfall == pytest.approx(float(fill.price / 100 - 1))
