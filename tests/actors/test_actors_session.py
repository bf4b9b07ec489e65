"""The actor system trades exactly like the in-process session on the same bars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors import options
from actors.agent import AgentActor
from actors.decision_graph import DecisionGraphActor
from actors.options import spawn
from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.execution import PaperExchange
from sigmax.graph import DecisionGraph
from sigmax.ledger import Ledger
from sigmax.model import BarSeries, Signal
from sigmax.risk import RiskEngine
from sigmax.trading.adapters import GraphDecider, PaperVenue
from sigmax.trading.session import SessionConfig, TradingSession

START, BARS = 5_000, 120


def _in_process(settings: Settings, bars: BarSeries, warmup: int) -> list:
    graph = DecisionGraph(settings.graph)
    session = TradingSession(
        SessionConfig(symbol=bars.symbol, session_id="parity"),  # the actors' order ids
        GraphDecider(graph),
        RiskEngine(settings.risk),
        PaperVenue(PaperExchange(settings.paper)),
        Ledger(Decimal(10_000)),
    )
    reports = [session.on_bar(bars[: i + 1]) for i in range(warmup, len(bars))]
    graph.close()
    return reports


@pytest.mark.slow
def test_actor_session_matches_in_process_session(ray_cluster) -> None:
    settings = Settings()
    request = PaperRequest(start=START, bars=BARS, session_id="parity", persist=False)
    system = start_system(settings, request)
    try:
        reports = run_paper(system, request)
        agent_names = sorted(system.agents)
        found = ray_cluster.get_actor("risk:parity", namespace=options.NAMESPACE)
        assert ray_cluster.get(found.state.remote()) == "running"
    finally:
        system.shutdown()

    bars = load_bars("bundled:BTC-USD-1h")[START - system.warmup : START + BARS]
    local = _in_process(settings, bars, system.warmup)
    assert len(reports) == len(local) == BARS
    assert [r.decision for r in reports] == [r.decision for r in local]
    assert [r.fills for r in reports] == [r.fills for r in local]
    assert [r.equity for r in reports] == [r.equity for r in local]
    assert agent_names == ["mean_reversion", "momentum", "sentiment", "trend", "volatility"]


@pytest.mark.slow
def test_slow_agent_actor_is_recorded_missing_not_waited_for(ray_cluster) -> None:
    settings = Settings()
    # every bar decides, so the one decide call below asks every agent
    config = settings.graph.model_copy(update={"agent_timeout_s": 0.5, "cadence": None})
    graph_json = config.model_dump_json()

    @ray_cluster.remote
    class SlowAgentDouble:  # test double: an analyst actor that never answers in time
        def analyze_bars(self, bars, previous_ts, histories=None) -> dict[str, Signal | None]:
            import time

            time.sleep(5)
            return {symbol: None for symbol in bars}

    agents = {
        name: spawn(AgentActor, options.AGENT, f"slow-test:{name}", name, graph_json)
        for name in ("trend", "momentum", "mean_reversion", "volatility")
    }
    agents["sentiment"] = SlowAgentDouble.options(
        name="agent:slow-test:sentiment", namespace=options.NAMESPACE
    ).remote()
    names = {name: f"agent:slow-test:{name}" for name in agents}
    graph = spawn(DecisionGraphActor, options.DECISION_GRAPH, "slow-test", graph_json, names)
    history = load_bars("bundled:BTC-USD-1h")[:800]
    decision = ray_cluster.get(graph.decide.remote(history))
    assert decision.missing == ("sentiment",)
    assert "did not answer within 0.5 s" in decision.rationale
    assert {s.agent for s in decision.signals} == {
        "trend",
        "momentum",
        "mean_reversion",
        "volatility",
    }
    for handle in [*agents.values(), graph]:
        ray_cluster.kill(handle, no_restart=True)
