"""The volatility analyst annualises its realised vol from the bars' timeframe (both the
vectorised path and the live state), like the sizer; an explicit ``bars_per_year`` wins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigmax.agents import VolatilityAgent, VolatilityConfig
from sigmax.agents.config import GraphConfig
from sigmax.data.timeframes import timeframe_ns
from sigmax.graph import DecisionGraph
from sigmax.model import BarSeries

PER_YEAR = {"1m": 525_960.0, "30m": 17_532.0, "1h": 8_766.0, "4h": 2_191.5, "1d": 365.25}


def alternating_bars(timeframe: str, n: int = 400, move: float = 0.02) -> BarSeries:
    """Closes that move +-``move`` bar to bar, spaced by ``timeframe``."""
    close = 100.0 * np.cumprod(1.0 + move * np.where(np.arange(n) % 2, 1.0, -1.0))
    ts = np.arange(n, dtype=np.int64) * timeframe_ns(timeframe)
    open_ = np.concatenate([[close[0]], close[:-1]])
    return BarSeries(
        "TEST/USD", timeframe, ts, open_, close * 1.001, close * 0.999, close, np.ones(n)
    )


@pytest.mark.parametrize("timeframe", PER_YEAR)
def test_volatility_analyst_annualises_from_the_timeframe(timeframe: str) -> None:
    bars = alternating_bars(timeframe)
    agent = VolatilityAgent()
    expected = 0.02 * math.sqrt(PER_YEAR[timeframe])
    series = agent.analyze_series(bars)
    assert series.evidence["realized_vol"][-1] == pytest.approx(expected, rel=0.01)
    assert series.evidence["baseline_vol"][-1] == pytest.approx(expected, rel=0.01)
    live = VolatilityAgent()
    live.rebuild(bars[:300])
    for i in range(300, len(bars)):
        signal = live.update(bars.bar(i))
        assert signal == series.signal_at(i), f"bar {i}"


@pytest.mark.parametrize("timeframe", PER_YEAR)
def test_graph_decisions_quote_the_timeframes_vol(timeframe: str) -> None:
    bars = alternating_bars(timeframe)
    decision = DecisionGraph(GraphConfig(cadence=None)).run_series(bars).decision_at(len(bars) - 1)
    expected = 0.02 * math.sqrt(PER_YEAR[timeframe])
    vol = next(s for s in decision.signals if s.agent == "volatility").evidence["realized_vol"]
    assert vol == pytest.approx(expected, rel=0.01)


def test_an_explicit_bars_per_year_wins() -> None:
    bars = alternating_bars("1d")
    agent = VolatilityAgent(VolatilityConfig(bars_per_year=8760.0))
    vol = agent.analyze_series(bars).evidence["realized_vol"][-1]
    assert vol == pytest.approx(0.02 * math.sqrt(8760.0), rel=0.01)
