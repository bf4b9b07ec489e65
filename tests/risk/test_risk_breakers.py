"""Circuit breakers fed by on_equity, and the slippage monitor fed by on_fill."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sigmax.model import Fill, Liquidity, Side
from sigmax.risk import RiskConfig, RiskEngine, RiskStateError, TradingState

DAY_NS = 86_400_000_000_000
HOUR_NS = 3_600_000_000_000
DAY0 = 19_700 * DAY_NS  # midnight UTC of some day


def engine_with(**limits: object) -> RiskEngine:
    return RiskEngine(RiskConfig(**limits))  # type: ignore[arg-type]


def test_drawdown_breaker_pauses_with_numbers():
    engine = engine_with(max_drawdown_pct=0.10, daily_loss_limit_pct=None)
    for i, equity in enumerate([100_000.0, 120_000.0, 110_000.0, 108_000.0]):
        engine.on_equity(DAY0 + i * DAY_NS, equity)
    assert engine.state is TradingState.RUNNING  # 108,000 is exactly 10% below 120,000
    engine.on_equity(DAY0 + 4 * DAY_NS, 107_999.0)
    assert engine.state is TradingState.PAUSED
    assert engine.pause_cause == "max_drawdown"
    assert engine.state_reason == (
        "max_drawdown: equity 107,999.00 is 10.00% below peak 120,000.00 > limit 10.00%"
    )
    assert engine.peak_equity == 120_000.0


def test_daily_loss_trips_and_new_day_resets_it():
    engine = engine_with(daily_loss_limit_pct=0.05, max_drawdown_pct=0.5)
    engine.on_equity(DAY0 + HOUR_NS, 100_000.0)
    engine.on_equity(DAY0 + 2 * HOUR_NS, 96_000.0)
    assert engine.state is TradingState.RUNNING
    engine.on_equity(DAY0 + 3 * HOUR_NS, 94_000.0)
    assert engine.state is TradingState.PAUSED and engine.pause_cause == "daily_loss"
    assert "daily_loss_limit: equity 94,000.00 is 6.00% below day start 100,000.00" in (
        engine.state_reason
    )
    engine.on_equity(DAY0 + 23 * HOUR_NS, 95_000.0)
    assert engine.state is TradingState.PAUSED
    engine.on_equity(DAY0 + DAY_NS, 94_500.0)  # next UTC day: new start, limit reset
    assert engine.state is TradingState.RUNNING
    assert engine.day_start_equity == 94_500.0
    changes = engine.audit.records("state_change")
    assert changes[-1].payload["reason"] == "new UTC day: daily loss limit reset"


def test_day_rollover_does_not_lift_other_pauses():
    engine = engine_with(daily_loss_limit_pct=0.05)
    engine.on_equity(DAY0, 100_000.0)
    engine.pause("operator says so")
    engine.on_equity(DAY0 + DAY_NS, 100_000.0)
    assert engine.state is TradingState.PAUSED


def test_drawdown_escalates_a_daily_loss_pause():
    engine = engine_with(daily_loss_limit_pct=0.05, max_drawdown_pct=0.08)
    engine.on_equity(DAY0, 100_000.0)
    engine.on_equity(DAY0 + HOUR_NS, 94_000.0)
    assert engine.pause_cause == "daily_loss"
    engine.on_equity(DAY0 + 2 * HOUR_NS, 91_000.0)
    assert engine.pause_cause == "max_drawdown"
    engine.on_equity(DAY0 + DAY_NS, 91_000.0)
    assert engine.state is TradingState.PAUSED


def test_resume_refused_while_breaker_holds_unless_forced():
    engine = engine_with(max_drawdown_pct=0.10, daily_loss_limit_pct=None)
    engine.on_equity(DAY0, 100_000.0)
    engine.on_equity(DAY0 + HOUR_NS, 85_000.0)
    with pytest.raises(RiskStateError, match="breaker still holds: max_drawdown"):
        engine.resume("alice")
    engine.resume("alice", force=True)
    assert engine.state is TradingState.RUNNING
    assert engine.peak_equity == 85_000.0
    engine.on_equity(DAY0 + 2 * HOUR_NS, 84_000.0)
    assert engine.state is TradingState.RUNNING


def test_disabled_breakers_never_trip():
    engine = engine_with(max_drawdown_pct=None, daily_loss_limit_pct=None)
    engine.on_equity(DAY0, 100_000.0)
    engine.on_equity(DAY0 + HOUR_NS, 1.0)
    assert engine.state is TradingState.RUNNING


def test_nan_equity_is_an_error():
    with pytest.raises(ValueError, match="equity is NaN"):
        engine_with().on_equity(DAY0, float("nan"))


_FILL_IDS = itertools.count(1)


def fill(price: str, reference: str | None, side: Side = Side.BUY) -> Fill:
    return Fill(
        fill_id=f"f{next(_FILL_IDS)}",  # each a new fill: a repeated id counts once
        client_order_id="o1",
        symbol="BTC/USDT",
        side=side,
        qty=Decimal("1"),
        price=Decimal(price),
        fee=Decimal("0"),
        ts=datetime(2024, 3, 1, tzinfo=UTC),
        liquidity=Liquidity.TAKER,
        reference_price=None if reference is None else Decimal(reference),
    )


def test_slippage_monitor_trips_above_default_one_percent():
    engine = RiskEngine(RiskConfig())
    engine.on_fill(fill("101", "100"))  # exactly 1%: allowed
    engine.on_fill(fill("98", "100", Side.SELL))  # 2% adverse on a sell
    assert engine.state is TradingState.PAUSED
    assert engine.pause_cause == "slippage"
    assert "slipped 2.00% (price 98.00 vs reference 100.00) > limit 1.00%" in engine.state_reason
    assert engine.recent_slippage == pytest.approx([0.01, 0.02])


def test_favourable_or_unknown_slippage_does_not_trip():
    engine = RiskEngine(RiskConfig())
    engine.on_fill(fill("95", "100"))  # bought 5% cheaper
    engine.on_fill(fill("150", None))
    assert engine.state is TradingState.RUNNING
