"""The SIGMAX strategy: the whole multi-agent decision graph as one strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from sigmax.agents.config import GraphConfig
from sigmax.config import get_settings
from sigmax.graph import DecisionGraph, DecisionSeries, GraphNodes
from sigmax.model import BarSeries, Decision
from sigmax.portfolio.allocation import allocated_optimiser, weight_from_result
from sigmax.strategies.base import Strategy, StrategyParams

# --param name -> (GraphConfig section, field)
_PARAM_FIELDS = {
    "debate_rounds": ("debate", "rounds"),
    "position_step": ("arbitrator", "position_step"),
    "allow_short": ("arbitrator", "allow_short"),
    "min_confidence": ("arbitrator", "min_confidence"),
    "target_vol": ("optimiser", "target_vol"),
    "max_leverage": ("risk_gate", "max_leverage"),
}


class AgentGraphParams(StrategyParams):
    """Overrides of the most used graph settings; the rest come from ``Settings.graph``."""

    debate_rounds: int | None = Field(None, description="bull/bear rebuttal rounds")
    position_step: float | None = Field(None, description="target positions are multiples of this")
    allow_short: bool | None = Field(None, description="allow targets below 0")
    min_confidence: float | None = Field(None, description="ignore signals below this confidence")
    target_vol: float | None = Field(None, description="annualised volatility the sizer aims at")
    max_leverage: float | None = Field(None, description="largest |target| the risk gate allows")
    allocation: str | None = Field(
        None, description="a `sigmax optimize --json` result: its weight caps this symbol"
    )


class AgentGraphStrategy(Strategy):
    """Analysts → bull/bear debate → arbitrator → optimiser → risk gate, per bar.

    The target is a fraction of equity. In a backtest the graph runs once over the
    whole series (vectorised); live it runs per bar through ``DecisionGraph.run_bar``,
    which gives the same decisions (tests prove it).
    """

    name = "sigmax"
    unit = "equity_fraction"
    Params = AgentGraphParams

    def __init__(self, params: StrategyParams | None = None, config: GraphConfig | None = None):
        super().__init__(params)
        self.graph_config = with_overrides(config or get_settings().graph, self.params)
        self._series: DecisionSeries | None = None

    def targets(self, bars: BarSeries) -> np.ndarray:
        graph = DecisionGraph(self.graph_config, self._nodes(bars.symbol))
        try:
            self._series = graph.run_series(bars)
        finally:
            graph.close()
        return self._series.target

    def _nodes(self, symbol: str) -> GraphNodes | None:
        path = getattr(self.params, "allocation", None)
        if path is None:
            return None
        return GraphNodes(optimise=allocated_optimiser(weight_from_result(Path(path), symbol)))

    def decision_at(self, i: int) -> Decision | None:
        return None if self._series is None else self._series.decision_at(i)


def with_overrides(config: GraphConfig, params: StrategyParams) -> GraphConfig:
    """``config`` with the strategy's non-None params applied, validated again."""
    data: dict[str, Any] = config.model_dump()
    for name, value in params.model_dump().items():
        if value is not None and name in _PARAM_FIELDS:
            section, field = _PARAM_FIELDS[name]
            data[section][field] = value
    return GraphConfig.model_validate(data)
