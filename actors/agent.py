"""One analyst agent as a Ray actor."""

from __future__ import annotations

from datetime import datetime

import ray

from sigmax.agents.config import GraphConfig
from sigmax.graph_agents import graph_agents
from sigmax.model import Bar, BarSeries, Signal
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class AgentActor:
    """Holds one analyst (by name) for the live path: ``analyze_bars`` takes the new bar
    of every symbol in one call and keeps each symbol's state here between bars."""

    def __init__(self, agent_name: str, config_json: str) -> None:
        config = GraphConfig.model_validate_json(config_json)
        agents = {a.name: a for a in graph_agents(config)}
        if agent_name not in agents:
            raise ValueError(f"agent actor: unknown agent {agent_name!r}; known: {sorted(agents)}")
        self.agent = agents[agent_name]
        # Since this process started: calls to analyze_bars, bars and histories received.
        self._counts = {"calls": 0, "bars": 0, "histories": 0}

    def analyze_bars(
        self,
        bars_by_symbol: dict[str, Bar],
        previous_ts: dict[str, datetime | None],
        histories: dict[str, BarSeries] | None = None,
    ) -> dict[str, Signal | None]:
        """One signal per symbol for its new bar. Raises LiveStateGap naming the symbols
        whose state is not at ``previous_ts`` (first call, restart, skipped bars): call
        again with their histories."""
        self._counts["calls"] += 1
        self._counts["bars"] += len(bars_by_symbol)
        self._counts["histories"] += len(histories or {})
        return self.agent.analyze_bars(bars_by_symbol, previous_ts, histories)

    def counts(self) -> dict[str, int]:
        """Since this actor (re)started: ``calls`` to ``analyze_bars`` (its round
        trips), the symbols' new ``bars`` in them and the ``histories`` sent with them
        (first bars, gaps, restarts)."""
        return dict(self._counts)

    def analyze(self, history: BarSeries) -> Signal | None:
        return self.agent.analyze(history)

    def ping(self) -> str:
        return self.agent.name
