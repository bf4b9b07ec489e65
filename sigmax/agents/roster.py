"""The default set of analysts built from a GraphConfig."""

from __future__ import annotations

from collections.abc import Sequence

from sigmax.agents.base import Agent
from sigmax.agents.config import GraphConfig
from sigmax.agents.mean_reversion import MeanReversionAgent
from sigmax.agents.momentum import MomentumAgent
from sigmax.agents.sentiment import SentimentAgent
from sigmax.agents.trend import TrendAgent
from sigmax.agents.volatility import VolatilityAgent


def default_agents(config: GraphConfig, extra: Sequence[Agent] = ()) -> list[Agent]:
    """The five market-data analysts, then ``extra`` (analysts built outside this
    package: the trained RL policy's, see ``sigmax.graph_agents``), then the LLM analyst
    when ``config.llm.enabled``, which sees all of them as peers (it needs the optional
    ``llm`` extra for its provider). ``config.rl`` is not read here."""
    agents: list[Agent] = [
        TrendAgent(config.trend),
        MomentumAgent(config.momentum),
        MeanReversionAgent(config.mean_reversion),
        VolatilityAgent(config.volatility),
        SentimentAgent(config.sentiment),
        *extra,
    ]
    if config.llm.enabled:
        from sigmax.agents.llm import LLMAnalyst, make_chat_model

        agents.append(LLMAnalyst(make_chat_model(config.llm), config.llm, peers=list(agents)))
    return agents
