"""A paper session judges slippage as a backtest does: each fill against the price it
was expected to fill at (the open of the bar a market order fills in, before the
exchange's costs), not against the close it was decided at. A gap between a decision
bar's close and the next open is the market's move: it does not pause the session. A
fill far from its expected price does. The decision's close stays on the fill as its
reference, so the implementation shortfall is still reported."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.ledger import Ledger
from sigmax.model import BarSeries
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.risk.state import TradingState
from sigmax.strategies.base import Strategy
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.session import BarReport, SessionConfig, TradingSession

HOUR_NS = 3_600_000_000_000
T0 = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
SPREAD = Decimal(2)
GAP = 1.08  # the bar after the decision opens 8 % above its close: an overnight-style gap


class HalfInAtBarTwo(Strategy):
    """Flat, then half of equity long from bar 2 on."""

    name = "half_in_at_bar_two"
    unit = "equity_fraction"

    def targets(self, bars: BarSeries) -> np.ndarray:
        want = np.zeros(len(bars))
        want[2:] = 0.5
        return want


def _gapped_bars() -> BarSeries:
    """Five hourly bars at 100; bar 3 (the first a bar-2 order can fill in) opens and
    trades 8 % higher."""
    close = np.array([100.0, 100.0, 100.0, 108.0, 108.0])
    open_ = np.array([100.0, 100.0, 100.0, 100.0 * GAP, 108.0])
    ts = T0 + HOUR_NS * np.arange(5, dtype=np.int64)
    high, low = np.maximum(open_, close) + 0.5, np.minimum(open_, close) - 0.5
    volume = np.full(5, 1e6)
    return BarSeries("BTC/USD", "1h", ts, open_, high, low, close, volume)


def _run(slippage_bps: Decimal) -> tuple[list[BarReport], RiskEngine]:
    risk = RiskEngine(RiskConfig())  # the default 1 % slippage limit
    assert risk.config.max_slippage_pct == pytest.approx(0.01)
    # a paper session's costs (2 bps spread), with the slippage asked for
    exchange = PaperExchange(PaperExchangeConfig(slippage_bps=slippage_bps, spread_bps=SPREAD))
    session = TradingSession(
        SessionConfig(symbol="BTC/USD", session_id="gap"),
        StrategyDecider(HalfInAtBarTwo()),
        risk,
        PaperVenue(exchange),
        Ledger(Decimal(10_000)),
    )
    bars = _gapped_bars()
    return [session.on_bar(bars[: i + 1]) for i in range(len(bars))], risk


def test_a_gap_between_the_decision_close_and_the_next_open_does_not_pause() -> None:
    reports, risk = _run(Decimal(5))
    assert reports[2].order is not None, "the session decided to buy at bar 2's close"
    (fill,) = reports[3].fills
    assert fill.reference_price == Decimal(100)  # the decision's close, kept for reports
    assert fill.expected_price == Decimal("108")  # the open it filled at, before costs
    assert fill.shortfall == pytest.approx(float(fill.price / 100 - 1))  # the gap included
    assert fill.shortfall > 0.08
    assert fill.slippage == pytest.approx(0.0006)  # 5 bps and half the 2 bps spread
    assert risk.state is TradingState.RUNNING, risk.state_reason
    assert risk.recent_slippage == [fill.slippage]


def test_a_fill_far_from_its_expected_price_pauses() -> None:
    reports, risk = _run(Decimal(150))
    (fill,) = reports[3].fills
    assert fill.expected_price == Decimal("108")
    assert fill.slippage == pytest.approx(0.0151)  # 150 bps and half the spread
    assert risk.state is TradingState.PAUSED and risk.pause_cause == "slippage"
    reason = risk.state_reason or ""
    assert reason.startswith(f"max_slippage: fill {fill.fill_id} of ")
    assert "vs expected 108.00) > limit 1.00%" in reason
