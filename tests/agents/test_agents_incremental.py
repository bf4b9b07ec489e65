"""The analysts' live state: bar-by-bar ``update`` equals the vectorised series exactly,
over thousands of real bars of several bundled sets, across rebuilds and gaps; and the
whole graph deciding several symbols a bar (``GraphDecider.decide_many``) equals each
symbol's vectorised series."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable

import numpy as np
import pytest

from sigmax.agents import (
    Agent,
    MeanReversionAgent,
    MomentumAgent,
    SentimentAgent,
    TrendAgent,
    VolatilityAgent,
)
from sigmax.agents.config import GraphConfig
from sigmax.data.loader import load_bars
from sigmax.graph import DecisionGraph
from sigmax.model import BarSeries
from sigmax.trading.adapters import GraphDecider

ANALYSTS = [TrendAgent, MomentumAgent, MeanReversionAgent, VolatilityAgent, SentimentAgent]
SETS = {"ETH-USD-30m": 4000, "BTC-USD-1h": 4000}


@pytest.fixture(scope="module", params=sorted(SETS))
def long_bars(request: pytest.FixtureRequest) -> BarSeries:
    return load_bars(f"bundled:{request.param}")[: SETS[request.param]]


@pytest.mark.parametrize("analyst", ANALYSTS, ids=lambda cls: cls.__name__)
def test_update_equals_series_bar_for_bar(analyst: type[Agent], long_bars: BarSeries) -> None:
    agent = analyst()
    series = agent.analyze_series(long_bars)
    for i in range(len(long_bars)):
        assert agent.update(long_bars.bar(i)) == series.signal_at(i), f"{agent.name} bar {i}"


@pytest.mark.parametrize("analyst", ANALYSTS, ids=lambda cls: cls.__name__)
def test_several_symbols_keep_separate_states(analyst: type[Agent]) -> None:
    eth = load_bars("bundled:ETH-USD-30m")[:1500]
    btc = load_bars("bundled:BTC-USD-1h")[:1500]
    agent = analyst()
    expected = {b.symbol: agent.analyze_series(b) for b in (eth, btc)}
    for i in range(1500):
        for bars in (eth, btc):
            signal = agent.update(bars.bar(i))
            assert signal == expected[bars.symbol].signal_at(i), f"{bars.symbol} bar {i}"


@pytest.mark.parametrize("analyst", ANALYSTS, ids=lambda cls: cls.__name__)
def test_rebuild_mid_run_continues_exactly(analyst: type[Agent], bars: BarSeries) -> None:
    series = analyst().analyze_series(bars)
    restarted = analyst()  # a fresh agent: what a restarted actor holds
    assert restarted.rebuild(bars[:700]) == series.signal_at(699)
    for i in range(700, len(bars)):
        assert restarted.update(bars.bar(i)) == series.signal_at(i), f"bar {i}"


@pytest.mark.parametrize("analyst", ANALYSTS, ids=lambda cls: cls.__name__)
def test_follow_updates_in_step_and_rebuilds_after_a_gap(
    analyst: type[Agent], bars: BarSeries
) -> None:
    agent = analyst()
    series = agent.analyze_series(bars)
    shown = [*range(0, 400), *range(450, 900)]  # bars 400..449 never reach the agent
    for i in shown:
        assert agent.follow(bars[: i + 1]) == series.signal_at(i), f"bar {i}"
        assert agent.last_ts(bars.symbol) == bars.bar(i).ts


def test_warm_up_bars_wait_for_the_history(bars: BarSeries) -> None:
    agent = TrendAgent()
    assert [agent.update(bars.bar(i)) for i in range(agent.warmup - 1)] == [None] * (
        agent.warmup - 1
    )
    assert agent.update(bars.bar(agent.warmup - 1)) == agent.analyze(bars[: agent.warmup])


def test_update_refuses_a_bad_bar(bars: BarSeries) -> None:
    agent = MomentumAgent()
    agent.rebuild(bars[:100])
    bad = dataclasses.replace(bars.bar(100), close=float("nan"))
    with pytest.raises(ValueError, match="close"):
        agent.update(bad)
    assert agent.update(bars.bar(100)) == agent.analyze(bars[:101])


def test_flat_prices_stay_equal(make_bars: Callable[..., BarSeries]) -> None:
    close = np.concatenate([np.full(120, 100.0), np.linspace(100.0, 110.0, 80), np.full(60, 110.0)])
    flat = make_bars(close)
    for analyst in ANALYSTS:
        agent = analyst()
        series = agent.analyze_series(flat)
        for i in range(len(flat)):
            assert agent.update(flat.bar(i)) == series.signal_at(i), f"{agent.name} bar {i}"


def test_a_pickled_agent_leaves_its_live_state_behind(bars: BarSeries) -> None:
    agent = VolatilityAgent()
    agent.follow(bars[:300])
    copy = pickle.loads(pickle.dumps(agent))  # what a Ray task receives
    assert copy.last_ts(bars.symbol) is None
    assert copy.follow(bars[:301]) == agent.follow(bars[:301]) == agent.analyze(bars[:301])


@pytest.mark.slow
def test_graph_decides_several_symbols_a_bar_as_their_series() -> None:
    sets = [load_bars(f"bundled:{name}")[:1000] for name in ("ETH-USD-30m", "LTC-USD-30m")]
    sets.append(load_bars("bundled:BTC-USD-1h")[2000:3000])  # another timeframe and start
    graph = DecisionGraph(GraphConfig(cadence=None))
    try:
        expected = {b.symbol: graph.run_series(b) for b in sets}
        decider = GraphDecider(graph)
        away = sets[1].symbol
        for i in range(1000):
            histories = {
                b.symbol: b[: i + 1] for b in sets if not (b.symbol == away and 400 <= i < 420)
            }
            decisions = decider.decide_many(histories)
            assert list(decisions) == list(histories), f"bar {i}"
            for symbol, decision in decisions.items():
                assert decision == expected[symbol].decision_at(i), f"{symbol} bar {i}"
        for series in expected.values():  # the targets move: the memory is exercised
            assert len(set(series.target.tolist())) > 1
        with pytest.raises(ValueError, match="key each history by its symbol"):
            decider.decide_many({"XRP/USD": sets[0]})
    finally:
        graph.close()
