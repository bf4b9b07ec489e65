"""Annualisation follows the bars' timeframe: the sizer's volatility and the metrics'
Sharpe and Sortino use the same bars per year (365.25 days of bars)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigmax.agents.config import ArbitratorConfig, SizingConfig
from sigmax.agents.sizing import vol_target
from sigmax.backtest.metrics import curve_metrics
from sigmax.data.timeframes import bars_per_year, timeframe_ns
from sigmax.model import BarSeries

PER_YEAR = {"1m": 525_960.0, "30m": 17_532.0, "1h": 8_766.0, "4h": 2_191.5, "1d": 365.25}


def alternating_bars(timeframe: str, n: int = 400, move: float = 0.02) -> BarSeries:
    """Closes that move +-``move`` bar to bar, spaced by ``timeframe``."""
    close = 100.0 * np.cumprod(1.0 + move * np.where(np.arange(n) % 2, 1.0, -1.0))
    ts = np.arange(n, dtype=np.int64) * timeframe_ns(timeframe)
    open_ = np.concatenate([[close[0]], close[:-1]])
    return BarSeries("TEST/USD", timeframe, ts, open_, close, close, close, np.ones(n))


@pytest.mark.parametrize(("timeframe", "expected"), PER_YEAR.items())
def test_bars_per_year_of_each_timeframe(timeframe: str, expected: float) -> None:
    assert bars_per_year(timeframe) == pytest.approx(expected)
    assert bars_per_year(timeframe_ns(timeframe)) == pytest.approx(expected)


@pytest.mark.parametrize("timeframe", PER_YEAR)
def test_sizer_annualises_vol_from_the_timeframe(timeframe: str) -> None:
    bars = alternating_bars(timeframe)
    rows = np.arange(len(bars))
    sizing = vol_target(bars, rows, np.ones(len(bars)), 0.0, SizingConfig(), ArbitratorConfig())
    assert sizing.vol[-1] == pytest.approx(0.02 * math.sqrt(PER_YEAR[timeframe]), rel=0.01)


def test_sizer_keeps_an_explicit_bars_per_year() -> None:
    bars = alternating_bars("1d")
    rows = np.arange(len(bars))
    config = SizingConfig(bars_per_year=8760.0)
    sizing = vol_target(bars, rows, np.ones(len(bars)), 0.0, config, ArbitratorConfig())
    assert sizing.vol[-1] == pytest.approx(0.02 * math.sqrt(8760.0), rel=0.01)


def test_sizer_without_a_timeframe_uses_the_bar_spacing() -> None:
    daily = alternating_bars("1d")
    unnamed = BarSeries(
        "TEST/USD", "", daily.ts, daily.open, daily.high, daily.low, daily.close, daily.volume
    )
    rows = np.arange(len(unnamed))
    sizing = vol_target(unnamed, rows, np.ones(len(rows)), 0.0, SizingConfig(), ArbitratorConfig())
    assert sizing.vol[-1] == pytest.approx(0.02 * math.sqrt(365.25), rel=0.01)


@pytest.mark.parametrize("timeframe", PER_YEAR)
def test_sharpe_and_sortino_annualise_from_the_bar_spacing(timeframe: str) -> None:
    bars = alternating_bars(timeframe, n=50)
    returns = np.where(np.arange(50) % 2, 0.0003, -0.0001)
    equity = 1000.0 * np.cumprod(1.0 + returns)
    metrics = curve_metrics(equity, 1000.0, bars)
    root = math.sqrt(PER_YEAR[timeframe])
    assert metrics["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * root)
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    assert metrics["sortino"] == pytest.approx(returns.mean() / downside * root)
