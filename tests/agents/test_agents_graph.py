"""The decision graph: series == per-bar, deadlines, injected nodes, risk gate."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np
import pytest

from sigmax.agents import (
    Agent,
    GraphConfig,
    RiskGateConfig,
    SignalSeries,
    TrendAgent,
    TrendConfig,
    cap_leverage,
)
from sigmax.graph import DecisionGraph, DecisionSeries, GraphMemory, GraphNodes
from sigmax.model import BarSeries, Signal


@pytest.fixture(scope="module")
def graph() -> DecisionGraph:
    return DecisionGraph(GraphConfig(cadence=None))


@pytest.fixture(scope="module")
def series(graph: DecisionGraph, bars: BarSeries) -> DecisionSeries:
    return graph.run_series(bars)


def _replay(graph: DecisionGraph, bars: BarSeries, series: DecisionSeries, i: int) -> None:
    previous = GraphMemory() if i == 0 else series.memory_at(i - 1)
    decision = graph.run_bar(bars[: i + 1], previous_target=previous)
    assert decision == series.decision_at(i), f"bar {i}"
    assert decision.target_position == series.target[i]


def test_run_bar_equals_run_series_on_every_other_bar(
    graph: DecisionGraph, bars: BarSeries, series: DecisionSeries
) -> None:
    boundaries = {
        w + d for a in graph.agents for w in (a.warmup, graph.warmup) for d in range(-3, 3)
    }
    sample = sorted(set(range(0, 40)) | boundaries | set(range(0, len(bars), 2)))
    for i in sample:
        _replay(graph, bars, series, i)


def test_run_bar_carries_its_hysteresis_state(bars: BarSeries, series: DecisionSeries) -> None:
    graph = DecisionGraph(GraphConfig(cadence=None))
    stretch = range(300, 560)
    assert len(set(series.target[stretch.start : stretch.stop].tolist())) > 1
    targets = [graph.run_bar(bars[: i + 1]).target_position for i in stretch]
    assert targets == series.target[stretch.start : stretch.stop].tolist()


def test_targets_are_quantised_long_only_and_flat_in_warmup(
    graph: DecisionGraph, series: DecisionSeries, bars: BarSeries
) -> None:
    target = series.target
    assert target.dtype == np.float64 and target.shape == (len(bars),)
    assert np.all(target[: graph.warmup - 1] == 0.0)
    assert np.all((target >= 0.0) & (target <= 1.0))
    assert np.all(np.isclose(target / 0.25, np.round(target / 0.25)))
    assert target.max() > 0.0, "the graph takes positions on real data"
    assert np.count_nonzero(np.diff(target)) < 0.05 * len(bars), "no churn every bar"


def test_every_decision_records_every_agent(graph: DecisionGraph, series: DecisionSeries) -> None:
    names = {a.name for a in graph.agents}
    for i in range(len(series)):
        d = series.decision_at(i)
        assert {s.agent for s in d.signals} | set(d.missing) == names
        assert not {s.agent for s in d.signals} & set(d.missing)
    last = series.decision_at(len(series) - 1)
    assert last.missing == () and len(last.signals) == 5 and last.risk_verdict is not None
    assert "Net conviction" in last.rationale and "Vol targeting" in last.rationale
    assert last.bull_case.startswith("Bull case") and last.bear_case.startswith("Bear case")
    early = series.decision_at(25)
    assert "Warm-up" in early.rationale and "sentiment (no signal yet)" in early.rationale


class GatedAgent(Agent):
    """Test double: a trend analyst whose per-bar path blocks until released, or fails."""

    def __init__(self, name: str, release: threading.Event | None, fail: bool = False) -> None:
        self.inner = TrendAgent(TrendConfig(), name=name)
        self.name, self.warmup = name, self.inner.warmup
        self.release, self.fail = release, fail

    def analyze(self, history: BarSeries) -> Signal | None:
        if self.fail:
            raise RuntimeError("feed broke")
        if self.release is not None:
            self.release.wait(timeout=30)
        return self.inner.analyze(history)

    def _compute(self, bars: BarSeries):  # type: ignore[no-untyped-def]
        return self.inner._compute(bars)

    def describe(self, evidence: Mapping[str, float]) -> str:
        return self.inner.describe(evidence)


def test_slow_and_failing_agents_are_recorded_missing(bars: BarSeries) -> None:
    release = threading.Event()
    agents = [TrendAgent(), GatedAgent("slow", release), GatedAgent("broken", None, fail=True)]
    graph = DecisionGraph(GraphConfig(agent_timeout_s=0.05), agents=agents)
    try:
        decision = graph.run_bar(bars)
    finally:
        release.set()
        graph.close()
    assert decision.missing == ("slow", "broken")
    assert [s.agent for s in decision.signals] == ["trend"]
    assert "slow (timed out after 0.05 s)" in decision.rationale
    assert "broken (failed: RuntimeError: feed broke)" in decision.rationale


def test_per_bar_only_agent_is_missing_in_backtests(bars: BarSeries) -> None:
    class PerBarOnly(GatedAgent):
        vectorised = False

    graph = DecisionGraph(agents=[TrendAgent(), PerBarOnly("live", None)])
    decision = graph.run_series(bars).decision_at(len(bars) - 1)
    assert decision.missing == ("live",) and "live (per-bar only)" in decision.rationale


def test_injected_nodes_are_used_and_the_graph_runs_once(bars: BarSeries) -> None:
    calls: list[str] = []

    def analyse_series(agent: Agent, b: BarSeries) -> SignalSeries:
        calls.append(agent.name)
        return agent.analyze_series(b)

    def half_gate(proposed: np.ndarray, config: RiskGateConfig):  # type: ignore[no-untyped-def]
        return cap_leverage(proposed * 0.5, config)

    nodes = GraphNodes(analyse_series=analyse_series, risk_gate=half_gate)
    result = DecisionGraph(nodes=nodes).run_series(bars)
    assert sorted(calls) == sorted(
        ["trend", "momentum", "mean_reversion", "volatility", "sentiment"]
    )
    assert np.array_equal(result.target, result.controlled * 0.5)


def test_default_risk_gate_caps_and_says_so(bars: BarSeries) -> None:
    graph = DecisionGraph(GraphConfig(risk=RiskGateConfig(max_leverage=0.25), cadence=None))
    result = graph.run_series(bars)
    over = np.nonzero(result.controlled > 0.25)[0]
    assert over.size and result.target.max() == 0.25
    verdict = result.decision_at(int(over[0])).risk_verdict
    assert verdict is not None and not verdict.approved
    assert "capped to +0.25" in verdict.reason


def test_bad_graph_input_is_refused(bars: BarSeries) -> None:
    with pytest.raises(ValueError, match="unique"):
        DecisionGraph(agents=[TrendAgent(), TrendAgent()])
    with pytest.raises(ValueError, match="at least one bar"):
        DecisionGraph().run_bar(bars[:0])


def test_graphs_with_the_same_analysts_share_one_compiled_graph_and_keep_their_own_config(
    bars: BarSeries,
) -> None:
    """The compiled LangGraph is built once per set of analysts; each run still uses
    the config, node implementations and agents of the graph it was invoked from, also
    when runs of several graphs overlap in threads."""
    plain = DecisionGraph(GraphConfig(cadence=None))
    capped = DecisionGraph(GraphConfig(risk=RiskGateConfig(max_leverage=0.25), cadence=None))
    halved = DecisionGraph(
        GraphConfig(cadence=None),
        nodes=GraphNodes(risk_gate=lambda proposed, cfg: cap_leverage(proposed * 0.5, cfg)),
    )
    assert plain._graph is capped._graph is halved._graph
    assert plain._straight is capped._straight
    other = DecisionGraph(agents=[TrendAgent()])
    assert other._graph is not plain._graph

    alone = {g: g.run_series(bars).target for g in (plain, capped, halved)}
    assert alone[capped].max() == 0.25 < alone[plain].max()
    assert np.array_equal(alone[halved], cap_leverage(alone[plain] * 0.5, RiskGateConfig()).target)

    overlapped: dict[DecisionGraph, list[np.ndarray]] = {g: [] for g in alone}

    def run(g: DecisionGraph) -> None:
        for _ in range(3):
            overlapped[g].append(g.run_series(bars).target)

    threads = [threading.Thread(target=run, args=(g,)) for g in alone]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, targets in overlapped.items():
        assert len(targets) == 3 and all(np.array_equal(t, alone[g]) for t in targets)

    last = len(bars) - 1
    for g in alone:  # the live path (StraightRun) on the shared graph, too
        previous = g.run_series(bars[:last]).memory_at(last - 1)
        assert g.run_bar(bars, previous_target=previous).target_position == alone[g][last]
