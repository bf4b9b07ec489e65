"""The analysts a decision graph runs for a ``GraphConfig``.

The agents package's roster, plus the trained RL policy as one more analyst when
``graph.rl.checkpoint`` is set. It lives above both ``sigmax.agents`` and ``sigmax.rl``
(the policy observes the analysts' features, so ``rl`` imports ``agents``, never the
reverse).
"""

from __future__ import annotations

from sigmax.agents.base import Agent
from sigmax.agents.config import GraphConfig
from sigmax.agents.roster import default_agents


def graph_agents(config: GraphConfig) -> list[Agent]:
    """Every analyst of the graph ``config`` describes (the LLM analyst, if any, last)."""
    if config.rl.checkpoint is None:
        return default_agents(config)
    from sigmax.rl.agent import RLPolicyAgent

    return default_agents(config, extra=[RLPolicyAgent(config.rl)])
