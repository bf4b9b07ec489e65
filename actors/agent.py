"""One analyst agent as a Ray actor."""

from __future__ import annotations

import ray

from sigmax.agents.config import GraphConfig
from sigmax.graph_agents import graph_agents
from sigmax.model import BarSeries, Signal
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class AgentActor:
    """Holds one analyst (by name) and answers ``analyze(history)`` for the live path."""

    def __init__(self, agent_name: str, config_json: str) -> None:
        config = GraphConfig.model_validate_json(config_json)
        agents = {a.name: a for a in graph_agents(config)}
        if agent_name not in agents:
            raise ValueError(f"agent actor: unknown agent {agent_name!r}; known: {sorted(agents)}")
        self.agent = agents[agent_name]

    def analyze(self, history: BarSeries) -> Signal | None:
        return self.agent.analyze(history)

    def ping(self) -> str:
        return self.agent.name
