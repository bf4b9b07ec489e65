"""Each pre-trade rule on its own: rejections carry their numbers, pass cases pass."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.risk import RiskConfig, TradingState
from sigmax.risk.context import order_impact
from sigmax.risk.rules import (
    OrderRateLimiter,
    check_gross_exposure,
    check_leverage,
    check_order_notional,
    check_position_notional,
    check_price_band,
    check_reduce_only,
    check_restricted_symbol,
    check_short_selling,
    check_trading_state,
)

BASE = RiskConfig()


def test_order_notional_rejects_with_numbers(order, ctx):
    cfg = RiskConfig(max_order_notional=Decimal("10000"))
    impact = order_impact(order(qty="123.45"), ctx(last="100"))
    check = check_order_notional(impact, cfg)
    assert not check.passed
    assert check.rule == "max_order_notional"
    assert check.detail == "order notional 12,345.00 > limit 10,000.00"


def test_order_notional_uses_limit_price_and_passes_at_limit(order, ctx):
    cfg = RiskConfig(max_order_notional=Decimal("10000"))
    impact = order_impact(order(qty="100", limit_price="100"), ctx(last="101"))
    assert check_order_notional(impact, cfg).passed
    impact = order_impact(order(qty="100", limit_price="100.01"), ctx(last="101"))
    assert not check_order_notional(impact, cfg).passed


def test_disabled_limits_pass(order, ctx):
    cfg = RiskConfig(
        max_order_notional=None,
        max_position_notional=None,
        max_gross_exposure=None,
        max_leverage=None,
        price_band_pct=None,
    )
    impact = order_impact(order(qty="1000000", limit_price="1"), ctx(last="100", equity="1"))
    for rule in (
        check_order_notional,
        check_position_notional,
        check_gross_exposure,
        check_leverage,
        check_price_band,
    ):
        result = rule(impact, cfg)
        assert result.passed and result.detail == "disabled", rule.__name__


def test_position_notional_rejects_and_override_applies(order, ctx):
    cfg = RiskConfig(
        max_position_notional=Decimal("5000"),
        position_notional_overrides={"ETH/USDT": Decimal("20000")},
        max_order_notional=None,
    )
    impact = order_impact(order(qty="30"), ctx(last="100", position="25"))
    check = check_position_notional(impact, cfg)
    assert not check.passed
    assert check.detail == "BTC/USDT position notional 5,500.00 > limit 5,000.00"
    eth = order_impact(order(qty="30", symbol="ETH/USDT"), ctx(last="100", position="25"))
    assert check_position_notional(eth, cfg).passed


def test_position_over_limit_may_still_shrink(order, ctx):
    cfg = RiskConfig(max_position_notional=Decimal("5000"))
    impact = order_impact(order(side="sell", qty="10"), ctx(last="100", position="80"))
    check = check_position_notional(impact, cfg)
    assert check.passed
    assert "does not grow: 8,000.00 -> 7,000.00" in check.detail


def test_gross_exposure_counts_every_symbol(order, ctx):
    cfg = RiskConfig(max_gross_exposure=Decimal("1.5"))
    book = {"ETH/USDT": "-100000", "BTC/USDT": "0"}
    impact = order_impact(order(qty="600"), ctx(last="100", equity="100000", book=book))
    check = check_gross_exposure(impact, cfg)
    assert not check.passed
    assert check.detail == ("gross exposure 160,000.00 is 1.60x equity 100,000.00 > limit 1.50x")
    ok = order_impact(order(qty="400"), ctx(last="100", equity="100000", book=book))
    assert check_gross_exposure(ok, cfg).passed


def test_leverage_is_net_exposure(order, ctx):
    cfg = RiskConfig(max_leverage=Decimal("1"))
    hedged = {"ETH/USDT": "-100000"}
    impact = order_impact(order(qty="1500"), ctx(last="100", equity="100000", book=hedged))
    assert check_leverage(impact, cfg).passed  # net 50,000 = 0.5x
    impact = order_impact(order(qty="1500"), ctx(last="100", equity="100000"))
    check = check_leverage(impact, cfg)
    assert not check.passed
    assert check.detail == "net exposure 150,000.00 is 1.50x equity 100,000.00 > limit 1.00x"


def test_exposure_with_non_positive_equity_rejects_growth(order, ctx):
    impact = order_impact(order(qty="1"), ctx(equity="-5"))
    check = check_gross_exposure(impact, BASE)
    assert not check.passed
    assert check.detail == "gross exposure 100.00 with equity -5.00 <= 0"
    shrink = order_impact(order(side="sell", qty="1"), ctx(equity="-5", position="3"))
    assert check_gross_exposure(shrink, BASE).passed


def test_price_band_limit_order_too_far(order, ctx):
    cfg = RiskConfig(price_band_pct=Decimal("0.05"))
    impact = order_impact(order(limit_price="110"), ctx(last="100"))
    check = check_price_band(impact, cfg)
    assert not check.passed
    assert check.detail == "price 110.00 is 10.00% from last 100.00 > band 5.00%"
    assert check_price_band(order_impact(order(limit_price="105"), ctx(last="100")), cfg).passed


def test_price_band_checks_stop_and_market_reference(order, ctx):
    cfg = RiskConfig(price_band_pct=Decimal("0.05"))
    stop = order(type="stop_limit", limit_price="101", stop_price="90")
    assert "price 90.00 is 10.00%" in check_price_band(order_impact(stop, ctx()), cfg).detail
    market = order_impact(order(), ctx(last="100", reference="94"))
    check = check_price_band(market, cfg)
    assert not check.passed and "price 94.00 is 6.00% from last 100.00" in check.detail
    assert check_price_band(order_impact(order(), ctx(last="100")), cfg).passed


def test_restricted_symbol(order, ctx):
    cfg = RiskConfig(restricted_symbols=frozenset({"LUNA/USDT"}))
    check = check_restricted_symbol(order_impact(order(symbol="LUNA/USDT"), ctx()), cfg)
    assert not check.passed and check.detail == "symbol LUNA/USDT is on the restricted list"
    assert check_restricted_symbol(order_impact(order(), ctx()), cfg).passed


def test_short_selling_blocked_unless_allowed(order, ctx):
    impact = order_impact(order(side="sell", qty="3"), ctx(position="1"))
    check = check_short_selling(impact, RiskConfig(allow_short=False))
    assert not check.passed
    assert check.detail == "post-trade position -2 < 0 and shorting is not allowed"
    assert check_short_selling(impact, RiskConfig(allow_short=True)).passed
    cover = order_impact(order(side="buy", qty="1"), ctx(position="-3"))
    assert check_short_selling(cover, RiskConfig(allow_short=False)).passed


def test_reduce_only_must_shrink_without_flipping(order, ctx):
    flip = order_impact(order(side="sell", qty="3", reduce_only=True), ctx(position="2"))
    check = check_reduce_only(flip, BASE)
    assert not check.passed and check.detail == "reduce-only sell 3 would take position 2 to -1"
    grow = order_impact(order(side="buy", qty="1", reduce_only=True), ctx(position="2"))
    assert not check_reduce_only(grow, BASE).passed
    shrink = order_impact(order(side="sell", qty="2", reduce_only=True), ctx(position="2"))
    assert check_reduce_only(shrink, BASE).passed


@pytest.mark.parametrize(
    ("state", "reduce_only", "side", "passed"),
    [
        (TradingState.RUNNING, False, "buy", True),
        (TradingState.PAUSED, False, "sell", False),
        (TradingState.PAUSED, True, "sell", True),
        (TradingState.PAUSED, True, "buy", False),
        (TradingState.KILLED, True, "sell", False),
    ],
)
def test_trading_state_rule(order, ctx, state, reduce_only, side, passed):
    impact = order_impact(order(side=side, reduce_only=reduce_only), ctx(position="5"))
    assert check_trading_state(state, "why", impact).passed is passed


def test_rate_limiter_uses_given_timestamps():
    limiter = OrderRateLimiter()
    minute = 60_000_000_000
    for i in range(3):
        assert limiter.check(i * 1_000_000_000, 3).passed
        limiter.record(i * 1_000_000_000)
    check = limiter.check(10 * 1_000_000_000, 3)
    assert not check.passed and check.detail == "3 orders in the last 60s >= limit 3"
    assert limiter.check(minute, 3).passed  # the order at t=0 left the window
    assert limiter.times() == [1_000_000_000, 2_000_000_000]


def test_passing_checks_say_why_with_their_numbers(order, ctx):
    """Passes leave their text to be made when read; it is the same text as ever."""
    cfg = RiskConfig(
        max_order_notional=Decimal("50000"),
        max_position_notional=Decimal("80000"),
        max_gross_exposure=Decimal("3"),
        max_leverage=Decimal("2"),
        price_band_pct=Decimal("0.05"),
        allow_short=False,
    )
    impact = order_impact(order(qty="0.12345678"), ctx(last="43123.45", equity="10000"))
    details = {
        rule.__name__: rule(impact, cfg).detail
        for rule in (
            check_short_selling,
            check_order_notional,
            check_position_notional,
            check_gross_exposure,
            check_leverage,
            check_price_band,
        )
    }
    assert details == {
        "check_short_selling": "post-trade position 0.12345678",
        "check_order_notional": "order notional 5,323.88 <= limit 50,000.00",
        "check_position_notional": "position notional 5,323.88 <= limit 80,000.00",
        "check_gross_exposure": "gross exposure 0.53x equity <= limit 3.00x",
        "check_leverage": "net exposure 0.53x equity <= limit 2.00x",
        "check_price_band": "price 43,123.45 within 5.00% of last 43,123.45",
    }
    reduce = order_impact(order(side="sell", qty="0.5", reduce_only=True), ctx(position="2"))
    assert check_reduce_only(reduce, cfg).detail == "reduces position 2 to 1.5"
    limiter = OrderRateLimiter([1, 2])
    assert limiter.check(3, 5).detail == "2 orders in the last 60s < limit 5"
