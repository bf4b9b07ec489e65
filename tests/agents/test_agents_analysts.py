"""The five market-data analysts: per-bar == vectorised, warm-up, bounds, bad input."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest
from pydantic import ValidationError

from sigmax.agents import (
    Agent,
    MeanReversionAgent,
    MomentumAgent,
    SentimentAgent,
    SentimentConfig,
    TrendAgent,
    TrendConfig,
    VolatilityAgent,
    VolatilityConfig,
)
from sigmax.agents.volatility import Regime
from sigmax.model import BarSeries

MakeBars = Callable[..., BarSeries]

AGENTS = [TrendAgent, MomentumAgent, MeanReversionAgent, VolatilityAgent, SentimentAgent]


@pytest.fixture(params=AGENTS, ids=lambda cls: cls.__name__)
def agent(request: pytest.FixtureRequest) -> Agent:
    return request.param()


def test_per_bar_equals_vectorised_at_every_bar(agent: Agent, bars: BarSeries) -> None:
    series = agent.analyze_series(bars)
    for i in range(len(bars)):
        assert agent.analyze(bars[: i + 1]) == series.signal_at(i), f"{agent.name} bar {i}"


def test_warmup_is_exactly_when_indicators_exist(agent: Agent, bars: BarSeries) -> None:
    series = agent.analyze_series(bars)
    first = agent.warmup - 1
    assert np.isnan(series.confidence[:first]).all()
    assert np.isfinite(series.confidence[first:]).all()
    assert agent.analyze(bars[: agent.warmup - 1]) is None
    assert agent.analyze(bars[: agent.warmup]) is not None
    # the warm-up is not padded: one bar earlier some raw indicator is still undefined
    _score, _conf, evidence = agent._compute(bars)
    assert any(np.isnan(v[first - 1]) for v in evidence.values())


def test_scores_and_confidences_in_range(agent: Agent, bars: BarSeries) -> None:
    s = agent.analyze_series(bars)
    live = np.isfinite(s.confidence)
    assert np.all(np.abs(s.score[live]) <= 1.0) and np.all(s.confidence[live] >= 0.0)
    assert np.all(s.confidence[live] <= 1.0)
    assert np.std(s.score[live]) > 0.01, "a real analyst's score moves with the market"


def test_rationale_names_the_evidence(agent: Agent, bars: BarSeries) -> None:
    signal = agent.analyze(bars)
    assert signal is not None and signal.agent == agent.name
    assert any(ch.isdigit() for ch in signal.rationale)
    assert all(math.isfinite(v) for v in signal.evidence.values())


def test_flat_prices_give_finite_neutral_signals(agent: Agent, make_bars: MakeBars) -> None:
    bars = make_bars(np.full(400, 100.0))
    signal = agent.analyze(bars)
    assert signal is not None
    assert all(math.isfinite(v) for v in signal.evidence.values())


def test_nan_price_is_rejected_with_its_position(agent: Agent, bars: BarSeries) -> None:
    close = bars.close.copy()
    close[7] = np.nan
    with pytest.raises(ValueError, match=r"close\[7\]"):
        agent.analyze_series(dataclasses.replace(bars, close=close))


def test_trend_follows_a_rising_market(make_bars: MakeBars) -> None:
    up = make_bars(np.linspace(100.0, 200.0, 300))
    down = make_bars(np.linspace(200.0, 100.0, 300))
    rise, fall = TrendAgent().analyze(up), TrendAgent().analyze(down)
    assert rise is not None and fall is not None
    assert rise.score > 0.5 and fall.score < -0.5 and rise.confidence > 0.5


def test_mean_reversion_fades_a_spike(make_bars: MakeBars) -> None:
    close = np.full(100, 100.0) + np.sin(np.arange(100))  # noise around 100
    close[-1] = 110.0
    signal = MeanReversionAgent().analyze(make_bars(close))
    assert signal is not None and signal.score == -1.0 and signal.evidence["zscore"] > 2.0


def test_volatility_regimes(make_bars: MakeBars) -> None:
    steady = make_bars(np.linspace(100.0, 150.0, 300))
    assert VolatilityAgent().analyze(steady).evidence["regime"] == Regime.TRENDING  # type: ignore[union-attr]
    rng = np.random.default_rng(7)  # synthetic test data, not an analysis result
    calm = 100.0 * np.cumprod(1.0 + 0.001 * rng.standard_normal(300))
    calm[-24:] = calm[-25] * np.cumprod(1.0 + 0.02 * rng.standard_normal(24))
    signal = VolatilityAgent().analyze(make_bars(calm))
    assert signal is not None and signal.evidence["regime"] == Regime.HIGH_VOL
    assert signal.confidence == VolatilityConfig().high_vol_confidence


def test_sentiment_fear_after_a_crash_is_bullish_when_contrarian(make_bars: MakeBars) -> None:
    close = np.concatenate([np.full(300, 100.0), np.linspace(100.0, 70.0, 60)])
    close = close * (1.0 + 0.001 * np.sin(np.arange(close.shape[0])))
    volume = np.where(np.arange(close.shape[0]) < 300, 10.0, 40.0)  # selling on heavy volume
    bars = dataclasses.replace(make_bars(close), volume=volume)
    contrarian = SentimentAgent().analyze(bars)
    follower = SentimentAgent(SentimentConfig(contrarian=False)).analyze(bars)
    assert contrarian is not None and follower is not None
    assert contrarian.evidence["fear_greed"] < 25.0 and "extreme fear" in contrarian.rationale
    assert contrarian.score > 0.5 and follower.score == -contrarian.score


def test_config_is_frozen_and_validated() -> None:
    with pytest.raises(ValidationError, match="fast_period"):
        TrendConfig(fast_period=60, slow_period=50)
    with pytest.raises(ValidationError):
        TrendConfig(adx_period=0)
    with pytest.raises(ValidationError):
        TrendConfig(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TrendConfig().fast_period = 5  # type: ignore[misc]
