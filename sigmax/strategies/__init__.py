"""Strategies by name: what ``sigmax backtest --strategy NAME`` can run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigmax.strategies.base import Strategy, StrategyError, StrategyParams, TargetUnit
from sigmax.strategies.sma_cross import SmaCross

if TYPE_CHECKING:
    from sigmax.agents.config import GraphConfig


def _registry() -> dict[str, type[Strategy]]:
    from sigmax.strategies.agent_graph import AgentGraphStrategy
    from sigmax.strategies.rl_policy import RLPolicyStrategy

    return {cls.name: cls for cls in (AgentGraphStrategy, SmaCross, RLPolicyStrategy)}


def strategy_names() -> list[str]:
    return sorted(_registry())


def make_strategy(
    name: str, params: dict[str, str] | None = None, graph: GraphConfig | None = None
) -> Strategy:
    """The strategy called ``name`` built from ``k=v`` parameter strings; ``graph`` is the
    caller's decision-graph configuration (``Settings.graph``; default: built-in defaults)."""
    registry = _registry()
    if name not in registry:
        raise StrategyError(
            f"unknown strategy {name!r}; choose one of {', '.join(sorted(registry))}"
        )
    return registry[name].from_strings(params or {}, graph)


__all__ = [
    "SmaCross",
    "Strategy",
    "StrategyError",
    "StrategyParams",
    "TargetUnit",
    "make_strategy",
    "strategy_names",
]
