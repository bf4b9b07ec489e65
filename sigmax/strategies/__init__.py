"""Strategies by spec: what ``--strategy`` can run (a built-in name, ``PATH.py:ClassName``
or ``module:ClassName``), and the check of what a strategy returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigmax.strategies.base import Strategy, StrategyError, StrategyParams, TargetUnit
from sigmax.strategies.loader import is_user_spec, strategy_class
from sigmax.strategies.sma_cross import SmaCross
from sigmax.strategies.validation import (
    StrategyTargetError,
    validated_target_at,
    validated_targets,
)

if TYPE_CHECKING:
    from sigmax.agents.config import GraphConfig


def _registry() -> dict[str, type[Strategy]]:
    from sigmax.strategies.agent_graph import AgentGraphStrategy
    from sigmax.strategies.rl_policy import RLPolicyStrategy

    return {cls.name: cls for cls in (AgentGraphStrategy, SmaCross, RLPolicyStrategy)}


def strategy_names() -> list[str]:
    return sorted(_registry())


def load_strategy_class(spec: str) -> type[Strategy]:
    """The class ``spec`` names (a built-in name, ``PATH.py:ClassName`` or
    ``module:ClassName``); a StrategyError says what is wrong with it."""
    return strategy_class(spec, _registry())


def make_strategy(
    spec: str, params: dict[str, str] | None = None, graph: GraphConfig | None = None
) -> Strategy:
    """The strategy ``spec`` names built from ``k=v`` parameter strings; ``graph`` is the
    caller's decision-graph configuration (``Settings.graph``; default: built-in defaults)."""
    return load_strategy_class(spec).from_strings(params or {}, graph)


__all__ = [
    "SmaCross",
    "Strategy",
    "StrategyError",
    "StrategyParams",
    "StrategyTargetError",
    "TargetUnit",
    "is_user_spec",
    "load_strategy_class",
    "make_strategy",
    "strategy_names",
    "validated_target_at",
    "validated_targets",
]
