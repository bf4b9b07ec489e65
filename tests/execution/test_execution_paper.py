"""PaperExchange fills on crafted bars: prices, fees, slippage, volume caps, timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigmax.execution import (
    ExecutionVenue,
    IllegalTransitionError,
    OrderConflictError,
    PaperExchange,
    PaperExchangeConfig,
    UnknownOrderError,
)
from sigmax.model import Bar, Liquidity, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
SYM = "BTC/USDT"
D = Decimal


def bar(i: int, o: float, h: float, lo: float, c: float, v: float = 1_000.0) -> Bar:
    return Bar(SYM, "1h", T0 + i * H, o, h, lo, c, v)


def close_of(i: int) -> datetime:
    """Decision time at the close of bar i (= open of bar i + 1)."""
    return T0 + (i + 1) * H


def req(
    cid: str,
    side: Side,
    qty: str,
    kind: OrderType = OrderType.MARKET,
    limit: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
) -> OrderRequest:
    return OrderRequest(
        cid,
        SYM,
        side,
        D(qty),
        kind,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
        tif=tif,
    )


COSTS = PaperExchangeConfig(
    maker_fee_bps=D(2),
    taker_fee_bps=D("7.5"),
    slippage_bps=D(10),
    spread_bps=D(4),
    impact_bps_per_participation=D(100),
)


def test_paper_exchange_is_an_execution_venue() -> None:
    assert isinstance(PaperExchange(), ExecutionVenue)


def test_market_buy_with_zero_costs_costs_exactly_qty_times_next_open() -> None:
    ex = PaperExchange()
    ex.submit(req("m", Side.BUY, "0.123"), close_of(0), reference_price=D("42000"))
    (fill,) = ex.on_bar(bar(1, 42123.45, 42200, 42000, 42100))
    assert fill.price == D("42123.45")
    assert fill.notional == D("0.123") * D("42123.45")
    assert fill.fee == 0 and fill.liquidity is Liquidity.TAKER
    assert fill.fill_id == "m-1" and fill.ts == T0 + H
    assert ex.order("m").status is OrderStatus.FILLED


def test_order_decided_in_bar_t_never_fills_on_bar_t() -> None:
    ex = PaperExchange()
    ex.submit(req("m", Side.BUY, "1"), close_of(0))
    assert ex.on_bar(bar(0, 100, 101, 99, 100)) == []
    assert ex.has_open_orders(SYM)
    (fill,) = ex.on_bar(bar(1, 105, 106, 104, 105))
    assert fill.price == D(105)


def test_bars_must_come_in_time_order_and_be_consistent() -> None:
    ex = PaperExchange()
    ex.submit(req("m", Side.BUY, "1"), close_of(0))
    with pytest.raises(ValueError, match="inconsistent OHLC"):
        ex.on_bar(bar(1, 100, 99, 98, 99))
    ex.on_bar(bar(1, 100, 101, 99, 100))
    with pytest.raises(ValueError, match="not after the previous bar"):
        ex.on_bar(bar(1, 100, 101, 99, 100))


@pytest.mark.parametrize(
    ("side", "price", "slippage_sign"), [(Side.BUY, "100.22", 1), (Side.SELL, "99.78", -1)]
)
def test_market_slippage_is_adverse_and_taker_fee_exact(
    side: Side, price: str, slippage_sign: int
) -> None:
    ex = PaperExchange(COSTS)
    ex.submit(req("m", side, "10"), close_of(0), reference_price=D(100))
    # 10 bps fixed + 4/2 bps spread + 100 bps x (10 / 100 participation) = 22 bps
    (fill,) = ex.on_bar(bar(1, 100, 101, 99, 100, v=100))
    assert fill.price == D(price)
    assert fill.fee == D("0.00075") * 10 * D(price)
    assert fill.slippage == pytest.approx(0.0022)
    assert (fill.price - D(100)) * slippage_sign > 0


def test_fees_maker_vs_taker_exact_to_the_cent() -> None:
    cfg = PaperExchangeConfig(maker_fee_bps=D(2), taker_fee_bps=D(5))
    ex = PaperExchange(cfg)
    ex.submit(req("mk", Side.BUY, "1.5", OrderType.LIMIT, limit="20000.10"), close_of(0))
    ex.submit(req("tk", Side.BUY, "1.5"), close_of(0))
    maker, taker = sorted(ex.on_bar(bar(1, 20100, 20150, 20000, 20050)), key=lambda f: f.fill_id)
    assert (maker.liquidity, maker.price) == (Liquidity.MAKER, D("20000.10"))
    assert maker.fee == D("6.00003")  # 2 bps of 30000.15
    assert (taker.liquidity, taker.price, taker.fee) == (Liquidity.TAKER, D(20100), D("15.075"))
    assert round(maker.fee, 2) == D("6.00") and round(taker.fee, 2) == D("15.08")


def test_limit_buy_touch_fills_at_limit_as_maker() -> None:
    ex = PaperExchange(COSTS)
    ex.submit(req("l", Side.BUY, "3", OrderType.LIMIT, limit="99"), close_of(0))
    assert ex.on_bar(bar(1, 100, 101, 99.5, 100)) == []  # not reached
    (fill,) = ex.on_bar(bar(2, 100, 101, 98.5, 100))
    assert (fill.price, fill.liquidity, fill.fee) == (D(99), Liquidity.MAKER, D("0.0594"))


def test_limit_buy_gap_through_fills_at_open_as_taker_never_above_limit() -> None:
    ex = PaperExchange(PaperExchangeConfig(slippage_bps=D(10)))
    ex.submit(req("gap", Side.BUY, "1", OrderType.LIMIT, limit="99"), close_of(0))
    (fill,) = ex.on_bar(bar(1, 98, 98.5, 97, 98))
    assert (fill.price, fill.liquidity) == (D("98.098"), Liquidity.TAKER)
    ex.submit(req("cap", Side.BUY, "1", OrderType.LIMIT, limit="99"), close_of(1))
    (capped,) = ex.on_bar(bar(2, 98.95, 99.5, 98, 99))  # 98.95 x 1.001 = 99.04895 > 99
    assert capped.price == D(99)


def test_limit_sell_touch_and_gap() -> None:
    ex = PaperExchange(PaperExchangeConfig(slippage_bps=D(10)))
    ex.submit(req("t", Side.SELL, "1", OrderType.LIMIT, limit="101"), close_of(0))
    (touch,) = ex.on_bar(bar(1, 100, 101.5, 99, 100))
    assert (touch.price, touch.liquidity) == (D(101), Liquidity.MAKER)
    ex.submit(req("g", Side.SELL, "1", OrderType.LIMIT, limit="101"), close_of(1))
    (gap,) = ex.on_bar(bar(2, 102, 103, 101.5, 102))
    assert (gap.price, gap.liquidity) == (D("101.898"), Liquidity.TAKER)


def test_stop_buy_triggers_through_the_stop_and_on_gaps() -> None:
    ex = PaperExchange(PaperExchangeConfig(slippage_bps=D(10)))
    ex.submit(req("s", Side.BUY, "1", OrderType.STOP, stop="105"), close_of(0))
    assert ex.on_bar(bar(1, 100, 104, 99, 103)) == []
    (fill,) = ex.on_bar(bar(2, 103, 106, 102, 105))
    assert (fill.price, fill.liquidity) == (D("105.105"), Liquidity.TAKER)
    ex.submit(req("g", Side.BUY, "1", OrderType.STOP, stop="105"), close_of(2))
    (gap,) = ex.on_bar(bar(3, 107, 108, 106, 107))
    assert gap.price == D("107.107")


def test_stop_sell_fills_at_min_of_open_and_stop() -> None:
    ex = PaperExchange(PaperExchangeConfig(slippage_bps=D(10)))
    ex.submit(req("s", Side.SELL, "1", OrderType.STOP, stop="95"), close_of(0))
    (fill,) = ex.on_bar(bar(1, 97, 98, 94, 95))
    assert fill.price == D("94.905")
    ex.submit(req("g", Side.SELL, "1", OrderType.STOP, stop="95"), close_of(1))
    (gap,) = ex.on_bar(bar(2, 93, 94, 92, 93))
    assert gap.price == D("92.907")


def test_stop_limit_marketable_at_trigger_fills_at_once_within_limit() -> None:
    ex = PaperExchange(PaperExchangeConfig(slippage_bps=D(10)))
    ex.submit(
        req("sl", Side.BUY, "1", OrderType.STOP_LIMIT, limit="105.05", stop="105"), close_of(0)
    )
    (fill,) = ex.on_bar(bar(1, 100, 106, 99, 105))
    assert (fill.price, fill.liquidity) == (D("105.05"), Liquidity.TAKER)  # 105.105 capped


def test_stop_limit_triggers_then_rests_until_the_next_bar() -> None:
    ex = PaperExchange()
    ex.submit(req("sl", Side.BUY, "1", OrderType.STOP_LIMIT, limit="104", stop="105"), close_of(0))
    # triggers at 105; the low of 99 may have come before the trigger, so no fill yet
    assert ex.on_bar(bar(1, 100, 106, 99, 105)) == []
    assert ex.order("sl").status is OrderStatus.ACCEPTED
    (fill,) = ex.on_bar(bar(2, 105, 106, 103.5, 104))
    assert (fill.price, fill.liquidity) == (D(104), Liquidity.MAKER)


def test_untriggered_stop_limit_ignores_a_touched_limit() -> None:
    ex = PaperExchange()
    ex.submit(req("sl", Side.SELL, "1", OrderType.STOP_LIMIT, limit="96", stop="95"), close_of(0))
    assert ex.on_bar(bar(1, 97, 98, 96, 97)) == []  # limit touched, stop not
    assert ex.on_bar(bar(2, 97, 97, 94, 95)) == []  # triggers at 95 < limit 96: rests
    (fill,) = ex.on_bar(bar(3, 95, 96.5, 94.5, 96))
    assert (fill.price, fill.liquidity) == (D(96), Liquidity.MAKER)


PARTIAL = PaperExchangeConfig(max_participation=D("0.1"), qty_step=D("0.001"))


def test_volume_cap_spreads_a_fill_over_bars_with_exact_vwap() -> None:
    ex = PaperExchange(PARTIAL)
    ex.submit(req("p", Side.BUY, "6"), close_of(0))
    fills = [ex.on_bar(bar(i, o, o + 1, o - 1, o, v=25)) for i, o in ((1, 100), (2, 102))]
    assert [f.qty for (f,) in fills] == [D("2.5"), D("2.5")]
    assert ex.order("p").status is OrderStatus.PARTIALLY_FILLED
    (last,) = ex.on_bar(bar(3, 104, 105, 103, 104, v=25))
    order = ex.order("p")
    assert last.qty == D(1) and last.fill_id == "p-3"
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == D("101.5")  # (250 + 255 + 104) / 6
    assert not ex.has_open_orders(SYM)


def test_volume_cap_rounds_down_to_the_qty_step_and_zero_volume_fills_nothing() -> None:
    ex = PaperExchange(PARTIAL)
    ex.submit(req("p", Side.BUY, "5"), close_of(0))
    assert ex.on_bar(bar(1, 100, 101, 99, 100, v=0)) == []
    (fill,) = ex.on_bar(bar(2, 100, 101, 99, 100, v=33.3333))
    assert fill.qty == D("3.333")


def test_ioc_cancels_the_unfilled_rest_after_its_first_bar() -> None:
    ex = PaperExchange(PARTIAL)
    ex.submit(req("i", Side.BUY, "6", tif=TimeInForce.IOC), close_of(0))
    assert ex.on_bar(bar(0, 100, 101, 99, 100, v=25)) == []  # not yet eligible: no effect
    (fill,) = ex.on_bar(bar(1, 100, 101, 99, 100, v=25))
    order = ex.order("i")
    assert fill.qty == D("2.5")
    assert order.status is OrderStatus.CANCELLED and order.filled_qty == D("2.5")
    assert order.reason is not None and "IOC" in order.reason
    assert not ex.has_open_orders(SYM)


def test_cancel_stops_fills_and_terminal_orders_cannot_be_cancelled() -> None:
    ex = PaperExchange()
    ex.submit(req("l", Side.BUY, "1", OrderType.LIMIT, limit="90"), close_of(0))
    assert ex.cancel("l", close_of(0)).status is OrderStatus.CANCELLED
    assert not ex.has_open_orders(SYM)
    assert ex.on_bar(bar(1, 95, 96, 80, 90)) == []
    with pytest.raises(IllegalTransitionError, match="cancelled -> cancelled"):
        ex.cancel("l", close_of(1))
    with pytest.raises(UnknownOrderError):
        ex.cancel("missing", close_of(1))


def test_orders_expire_before_trading_on_a_bar_at_or_after_expiry() -> None:
    ex = PaperExchange()
    ex.submit(
        req("e", Side.BUY, "1", OrderType.LIMIT, limit="90"), close_of(0), expire_ts=T0 + 3 * H
    )
    assert ex.on_bar(bar(1, 95, 96, 91, 95)) == []
    assert ex.on_bar(bar(3, 95, 96, 85, 90)) == []
    order = ex.order("e")
    assert order.status is OrderStatus.EXPIRED and order.updated_ts == T0 + 3 * H
    assert not ex.has_open_orders(SYM)


def test_submit_is_idempotent_by_client_order_id() -> None:
    ex = PaperExchange()
    first = ex.submit(req("m", Side.BUY, "1"), close_of(0))
    again = ex.submit(req("m", Side.BUY, "1"), close_of(0))
    assert first == again
    assert [e.to_status for e in ex.events] == [OrderStatus.NEW, OrderStatus.ACCEPTED]
    with pytest.raises(OrderConflictError):
        ex.submit(req("m", Side.BUY, "2"), close_of(0))
    assert len(ex.on_bar(bar(1, 100, 101, 99, 100))) == 1


def test_quantities_and_prices_off_the_grid_are_rejected_with_a_reason() -> None:
    ex = PaperExchange(PaperExchangeConfig(qty_step=D("0.01"), price_tick=D("0.5")))
    bad_qty = ex.submit(req("q", Side.BUY, "0.015"), close_of(0))
    bad_px = ex.submit(req("p", Side.BUY, "1", OrderType.LIMIT, limit="100.2"), close_of(0))
    assert bad_qty.status is OrderStatus.REJECTED and "qty_step" in (bad_qty.reason or "")
    assert bad_px.status is OrderStatus.REJECTED and "price_tick" in (bad_px.reason or "")
    assert not ex.has_open_orders(SYM)


@pytest.mark.parametrize(("side", "price"), [(Side.BUY, "100.13"), (Side.SELL, "99.87")])
def test_taker_prices_round_adversely_to_the_tick(side: Side, price: str) -> None:
    cfg = PaperExchangeConfig(slippage_bps=D("12.3"), price_tick=D("0.01"))
    ex = PaperExchange(cfg)
    ex.submit(req("m", side, "1"), close_of(0))
    (fill,) = ex.on_bar(bar(1, 100, 101, 99, 100))
    assert fill.price == D(price)


def test_open_orders_and_has_open_orders_track_each_symbol() -> None:
    ex = PaperExchange()
    assert not ex.has_open_orders(SYM)
    ex.submit(req("a", Side.BUY, "1", OrderType.LIMIT, limit="50"), close_of(0))
    ex.submit(OrderRequest("b", "ETH/USDT", Side.SELL, D(1)), close_of(0))
    assert ex.has_open_orders(SYM) and ex.has_open_orders("ETH/USDT")
    assert [o.client_order_id for o in ex.open_orders(SYM)] == ["a"]
    assert len(ex.open_orders()) == 2


def test_non_positive_reference_price_is_refused_before_anything_is_created() -> None:
    ex = PaperExchange()
    with pytest.raises(ValueError, match="reference_price"):
        ex.submit(req("m", Side.BUY, "1"), close_of(0), reference_price=D(0))
    assert ex.events == ()


def test_activity_counts_orders_by_status_and_fills() -> None:
    ex = PaperExchange()
    assert ex.activity() == {"orders_by_status": {}, "fills": 0}
    ex.submit(req("m", Side.BUY, "1"), close_of(0), reference_price=D("100"))
    ex.submit(req("l", Side.BUY, "1", OrderType.LIMIT, limit="1"), close_of(0))
    ex.submit(req("c", Side.BUY, "1", OrderType.LIMIT, limit="1"), close_of(0))
    ex.cancel("c", close_of(0))
    ex.on_bar(bar(1, 100, 101, 99, 100))
    assert ex.activity() == {
        "orders_by_status": {"accepted": 1, "cancelled": 1, "filled": 1},
        "fills": 1,
    }


def test_venue_order_ids_number_the_orders_in_submission_order() -> None:
    ex = PaperExchange(PaperExchangeConfig(qty_step=D("0.01")))
    ex.submit(req("a", Side.BUY, "1"), close_of(0))
    ex.submit(req("b", Side.BUY, "0.015"), close_of(0))  # rejected: off the qty grid
    ex.submit(req("c", Side.SELL, "1"), close_of(0))
    assert [ex.order(c).venue_order_id for c in "abc"] == ["paper-1", None, "paper-3"]
    assert [e.to_status for e in ex.events] == [
        OrderStatus.NEW,
        OrderStatus.ACCEPTED,
        OrderStatus.NEW,
        OrderStatus.REJECTED,
        OrderStatus.NEW,
        OrderStatus.ACCEPTED,
    ]
