"""The decision graph as a Ray actor, fanning out to the agent actors in parallel."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import ray

from actors.options import NAMESPACE
from actors.session_metrics import timed_decision
from sigmax import tracing
from sigmax.agents.base import Agent, LiveStateGap
from sigmax.agents.config import GraphConfig
from sigmax.graph import DecisionGraph, GraphNodes
from sigmax.model import BarSeries, Decision, Signal, ts_from_ns
from sigmax.portfolio.allocation import allocated_optimiser
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class DecisionGraphActor:
    """Runs the LangGraph graph per bar; each analyst node calls its agent actor.

    The graph runs analyst nodes concurrently and waits for each at most
    ``agent_timeout_s``: a slow or dead agent actor is recorded as missing and the
    decision says so, so one agent cannot stall the bar loop.
    """

    def __init__(
        self,
        config_json: str,
        agent_actor_names: dict[str, str],
        allocation_weight: float | None = None,
    ) -> None:
        # Names, not handles: a restarted graph actor finds its agents again by name,
        # and nothing it was built from lives in the object store.
        self.config = GraphConfig.model_validate_json(config_json)
        self.handles: dict[str, Any] = {
            agent: ray.get_actor(name, namespace=NAMESPACE)
            for agent, name in agent_actor_names.items()
        }
        self._last_ts: int | None = None
        self._sent_ts: dict[tuple[str, str], int] = {}  # (agent, symbol) -> last bar sent
        nodes = GraphNodes(analyse_bar=self._remote_analyse)
        if allocation_weight is not None:  # the portfolio optimiser caps this symbol
            nodes = replace(nodes, optimise=allocated_optimiser(allocation_weight))
        self.graph = DecisionGraph(self.config, nodes)
        unknown = {a.name for a in self.graph.agents} - set(self.handles)
        if unknown:
            raise ValueError(f"decision graph actor: no agent actor for {sorted(unknown)}")

    def _remote_analyse(self, agent: Agent, history: BarSeries) -> Signal | None:
        """The agent actor's signal for the last bar of ``history``: only the new bar is
        sent while the actor's state is in step (this actor sent it the previous bar);
        the history otherwise (first bar, bars skipped, an agent without live state) or
        when the agent actor answers that it lost its state (it restarted)."""
        symbol = history.symbol
        bars = {symbol: history.bar(len(history) - 1)}
        previous = {symbol: ts_from_ns(history.ts[-2]) if len(history) > 1 else None}
        key = (agent.name, symbol)
        in_step = len(history) > 1 and self._sent_ts.get(key) == int(history.ts[-2])
        signals = None
        if agent.incremental and in_step:
            with contextlib.suppress(LiveStateGap):  # it restarted: send the history
                signals = self._ask(agent, bars, previous, None)
        if signals is None:
            signals = self._ask(agent, bars, previous, {symbol: history})
        self._sent_ts[key] = int(history.ts[-1])
        return signals[symbol]

    def _ask(self, agent: Agent, *args: Any) -> dict[str, Signal | None]:
        call: Any = tracing.remote_call(self.handles[agent.name].analyze_bars, *args)
        result: dict[str, Signal | None] = ray.get(call, timeout=self.config.agent_timeout_s)
        return result

    def decide(self, history: BarSeries) -> Decision:
        with timed_decision():
            decision = self.graph.run_bar(history, self._previous_target(history))
        self._last_ts = int(history.ts[-1])
        return decision

    def analyze(self, history: BarSeries) -> Decision:
        """The decision on the last bar of ``history`` now, leaving the session's
        memory (the hysteresis state) untouched: the whole graph over the history."""
        series = self.graph.run_series(history)
        return series.decision_at(len(series) - 1)

    def _previous_target(self, history: BarSeries) -> float | None:
        """The hysteresis state for this bar: remembered when this actor decided the bar
        before, else (first call, restart, skipped bars) recomputed from the history."""
        if len(history) < 2:
            return 0.0
        if self._last_ts == int(history.ts[-2]):
            return None  # the graph remembers it
        return float(self.graph.run_series(history[:-1]).sized[-1])

    def decide_series(self, bars: BarSeries) -> list[float]:
        """Targets over a whole series (vectorised path), for warm starts and checks."""
        return [float(t) for t in self.graph.run_series(bars).target]
