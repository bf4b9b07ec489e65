"""The decision graph actor decides every symbol of a bar in one call: one round trip per
agent actor covering all symbols, per-symbol graph memory, decisions equal to the
vectorised series bar for bar over a long run, recovery of a restarted agent actor from
the histories, and dead or slow agents recorded as missing in each symbol's decision."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import ray

from actors import options
from actors.agent import AgentActor
from actors.decision_graph import DecisionGraphActor
from actors.options import spawn
from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.graph import DecisionGraph
from sigmax.graph_agents import graph_agents
from sigmax.model import BarSeries, Decision

SETS = ("ETH-USD-30m", "LTC-USD-30m", "XRP-USD-30m")


class _Actors:
    """Agent actors and one decision graph actor on them, named apart per test."""

    def __init__(
        self,
        ray: Any,
        suffix: str,
        agent_timeout_s: float | None = None,
        doubles: dict[str, str] | None = None,
        cadence: str | None = None,
    ) -> None:
        config = Settings().graph.model_copy(update={"cadence": cadence})
        if agent_timeout_s is not None:
            config = config.model_copy(update={"agent_timeout_s": agent_timeout_s})
        self.config = config
        self.ray = ray
        graph_json = config.model_dump_json()
        self.names = [a.name for a in graph_agents(config)]
        doubles = doubles or {}  # agent name -> the actor name of a test double
        self.agents = {
            name: spawn(AgentActor, options.AGENT, f"{suffix}:{name}", name, graph_json)
            for name in self.names
            if name not in doubles
        }
        self.actor_names = {name: f"agent:{suffix}:{name}" for name in self.agents} | doubles
        self.graph = spawn(
            DecisionGraphActor, options.DECISION_GRAPH, suffix, graph_json, self.actor_names
        )
        assert ray.get(self.graph.decide_many.remote({})) == {}  # it found its agents

    def decide_many(self, histories: dict[str, BarSeries]) -> dict[str, Decision]:
        result: dict[str, Decision] = self.ray.get(self.graph.decide_many.remote(histories))
        return result

    def counts(self) -> dict[str, dict[str, int]]:
        calls = {n: h.counts.remote() for n, h in self.agents.items()}
        return {n: self.ray.get(c) for n, c in calls.items()}

    def close(self) -> None:
        for handle in [*self.agents.values(), self.graph]:
            self.ray.kill(handle, no_restart=True)


def _wait_for_fresh_actor(ray: Any, handle: Any, timeout_s: float = 60.0) -> None:
    """Wait until a killed agent actor answers as its restarted, empty self: ray.kill
    returns before the old process is gone, so the old one may still answer a call."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if ray.get(handle.counts.remote(), timeout=10)["calls"] == 0:
                return
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            pass  # between the old process and the new one
        time.sleep(0.05)
    raise AssertionError(f"the actor did not come back empty within {timeout_s} s")


@pytest.fixture(scope="module")
def three() -> dict[str, BarSeries]:
    """Three bundled half-hourly series, 800 bars each, keyed by their symbols."""
    series = [load_bars(f"bundled:{name}")[:800] for name in SETS]
    assert len({s.symbol for s in series}) == len(series)
    return {s.symbol: s for s in series}


@pytest.fixture
def actors(ray_cluster: Any, request: pytest.FixtureRequest) -> Iterator[_Actors]:
    made = _Actors(ray_cluster, f"many-{request.node.name[:40]}")
    try:
        yield made
    finally:
        made.close()


@pytest.mark.slow
def test_decide_many_equals_the_series_with_one_call_per_agent(
    actors: _Actors, three: dict[str, BarSeries], ray_cluster: Any
) -> None:
    local = DecisionGraph(actors.config)
    warmup = local.warmup
    try:
        expected = {s: local.run_series(bars) for s, bars in three.items()}
    finally:
        local.close()
    symbols = list(three)
    away = symbols[2]
    skipped = range(300, 310)  # the third symbol has no bars there: it comes back behind
    kill_at = 500  # the trend agent actor dies and comes back empty before this bar
    cycles = 0
    decided = 0
    before_kill: dict[str, dict[str, int]] = {}
    n = len(next(iter(three.values())))
    for i in range(n):
        if i == kill_at:
            before_kill = actors.counts()
            ray_cluster.kill(actors.agents["trend"], no_restart=False)
            _wait_for_fresh_actor(ray_cluster, actors.agents["trend"])
        histories = {
            s: bars[: i + 1] for s, bars in three.items() if not (s == away and i in skipped)
        }
        decisions = actors.decide_many(histories)
        cycles += 1
        decided += len(histories)
        assert set(decisions) == set(histories), f"bar {i}"
        for symbol, decision in decisions.items():
            assert decision == expected[symbol].decision_at(i), f"{symbol} bar {i}"
            assert decision.target_position == expected[symbol].target[i]
            if i >= warmup:  # every agent answered (their warm-up is shorter)
                assert decision.missing == (), f"{symbol} bar {i}"

    # One round trip per agent per decide_many while in step; histories only for the
    # three first bars and the symbol back from its gap.
    for count in before_kill.values():
        assert count == {"calls": kill_at, "bars": 3 * kill_at - len(skipped), "histories": 4}
    after = actors.counts()
    for name in actors.names:
        if name == "trend":  # restarted: one call answered LiveStateGap, then the histories
            assert after[name] == {
                "calls": cycles - kill_at + 1,
                "bars": 3 * (cycles - kill_at + 1),
                "histories": 3,
            }
        else:
            assert after[name] == {
                "calls": cycles,
                "bars": decided,
                "histories": 4,
            }
    # The targets move: the run tests the memory, not a flat book.
    for series in expected.values():
        assert len(set(series.target.tolist())) > 1


def test_decide_is_decide_many_of_one_symbol(actors: _Actors, three: dict[str, BarSeries]) -> None:
    eth = next(iter(three.values()))
    local = DecisionGraph(actors.config)
    try:
        expected = local.run_series(eth[:300])
    finally:
        local.close()
    for i in range(250, 300):  # both ways in turn, on one memory and one agent state
        history = eth[: i + 1]
        if i % 2:
            decision = actors.ray.get(actors.graph.decide.remote(history))
        else:
            decision = actors.decide_many({eth.symbol: history})[eth.symbol]
        assert decision == expected.decision_at(i), f"bar {i}"
    for count in actors.counts().values():
        assert count == {"calls": 50, "bars": 50, "histories": 1}
    with pytest.raises(ValueError, match="key each history by its symbol"):
        actors.decide_many({"BTC/USD": eth})


@pytest.mark.slow
def test_a_coarser_cadence_asks_the_agents_only_when_a_window_closes(
    ray_cluster: Any, three: dict[str, BarSeries]
) -> None:
    made = _Actors(ray_cluster, "many-cadence", cadence="1h")  # on half-hourly bars
    try:
        local = DecisionGraph(made.config)
        try:
            expected = {s: local.run_series(bars[:800]) for s, bars in three.items()}
        finally:
            local.close()
        hour = 3_600_000_000_000
        closing = 0  # bars at which some symbol's hourly window closes
        for i in range(800):
            histories = {s: bars[: i + 1] for s, bars in three.items()}
            decisions = made.decide_many(histories)
            for symbol, decision in decisions.items():
                assert decision == expected[symbol].decision_at(i), f"{symbol} bar {i}"
            closing += any((int(b.ts[i]) + hour // 2) % hour == 0 for b in three.values())
        assert 0 < closing < 800
        for count in made.counts().values():
            assert count["calls"] == closing
        for series in expected.values():
            assert len(set(series.target.tolist())) > 1
    finally:
        made.close()


@ray.remote
class _SlowAgentDouble:
    """Test double for an analyst that is too slow for the graph's deadline."""

    def analyze_bars(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        time.sleep(30)
        return {}


def test_dead_and_slow_agents_are_missing_in_every_symbol(
    ray_cluster: Any, three: dict[str, BarSeries]
) -> None:
    slow = _SlowAgentDouble.options(  # type: ignore[attr-defined]
        name="agent:many-missing:slow-double", namespace=options.NAMESPACE
    ).remote()
    made = _Actors(
        ray_cluster,
        "many-missing",
        agent_timeout_s=1.0,
        doubles={"momentum": "agent:many-missing:slow-double"},
    )
    try:
        ray_cluster.kill(made.agents["trend"], no_restart=True)
        histories = {s: bars[:400] for s, bars in three.items()}
        decisions = made.decide_many(histories)
        assert set(decisions) == set(three)
        for decision in decisions.values():
            assert set(decision.missing) == {"trend", "momentum"}
            assert "agent actor momentum did not answer within 1 s" in decision.rationale
            assert "agent actor trend: " in decision.rationale
            assert {s.agent for s in decision.signals} == set(made.names) - {"trend", "momentum"}
    finally:
        ray_cluster.kill(slow, no_restart=True)
        made.close()
