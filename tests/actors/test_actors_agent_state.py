"""Agent actors keep each symbol's live state: the decision graph actor sends only the new
bar, a restarted agent actor is rebuilt from the history, and the decisions stay those
of the in-process graph."""

from __future__ import annotations

import pytest

from actors import options
from actors.agent import AgentActor
from actors.decision_graph import DecisionGraphActor
from actors.options import spawn
from sigmax.agents import LiveStateGap
from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.graph import DecisionGraph
from sigmax.model import ts_from_ns

NAMES = ("trend", "momentum", "mean_reversion", "volatility", "sentiment")


@pytest.mark.slow
def test_agent_actor_restart_mid_run_gives_the_same_decisions(ray_cluster) -> None:
    config = Settings().graph.model_copy(update={"cadence": None})  # agents see every bar
    graph_json = config.model_dump_json()
    agents = {
        name: spawn(AgentActor, options.AGENT, f"state-test:{name}", name, graph_json)
        for name in NAMES
    }
    names = {name: f"agent:state-test:{name}" for name in NAMES}
    graph = spawn(DecisionGraphActor, options.DECISION_GRAPH, "state-test", graph_json, names)
    bars = load_bars("bundled:BTC-USD-1h")[:460]
    local = DecisionGraph(config)
    expected = local.run_series(bars)  # a session starting at bar 400 continues the series
    try:
        for i in range(400, len(bars)):
            if i == 430:  # the trend agent loses its state: it comes back empty
                ray_cluster.kill(agents["trend"], no_restart=False)
                assert ray_cluster.get(agents["trend"].ping.remote()) == "trend"
                step = {bars.symbol: bars.bar(i)}
                with pytest.raises(LiveStateGap):  # restarted empty: the graph must resend
                    ray_cluster.get(
                        agents["trend"].analyze_bars.remote(
                            step, {bars.symbol: ts_from_ns(bars.ts[i - 1])}
                        )
                    )
            decision = ray_cluster.get(graph.decide.remote(bars[: i + 1]))
            assert decision == expected.decision_at(i), f"bar {i}"
            assert decision.missing == ()

        # In step, one call takes the new bar of every symbol it is given.
        last = bars.bar(len(bars) - 1)
        previous = {last.symbol: ts_from_ns(bars.ts[-2])}
        with pytest.raises(LiveStateGap):  # already saw this bar: out of step
            ray_cluster.get(agents["momentum"].analyze_bars.remote({last.symbol: last}, previous))
        eth = load_bars("bundled:ETH-USD-30m")[:301]
        momentum = next(a for a in local.agents if a.name == "momentum")
        both = {last.symbol: last, eth.symbol: eth.bar(299)}
        previous[eth.symbol] = ts_from_ns(eth.ts[298])
        histories = {last.symbol: bars, eth.symbol: eth[:300]}
        result = ray_cluster.get(agents["momentum"].analyze_bars.remote(both, previous, histories))
        assert result == {
            last.symbol: momentum.analyze(bars),
            eth.symbol: momentum.analyze(eth[:300]),
        }
        step = {eth.symbol: eth.bar(300)}  # ETH's state is now in step: the bar alone
        after = {eth.symbol: ts_from_ns(eth.ts[299])}
        result = ray_cluster.get(agents["momentum"].analyze_bars.remote(step, after))
        assert result == {eth.symbol: momentum.analyze(eth)}
    finally:
        local.close()
        for handle in [*agents.values(), graph]:
            ray_cluster.kill(handle, no_restart=True)
