"""The SIGMAX strategy: the whole multi-agent decision graph as one strategy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from sigmax.agents.config import GraphConfig
from sigmax.graph import DecisionGraph, DecisionSeries, GraphNodes
from sigmax.model import BarSeries, Decision
from sigmax.portfolio.allocation import allocated_optimiser, weight_from_result
from sigmax.strategies.base import Strategy, StrategyParams

# --param name -> where it lands in GraphConfig (section, field; section "" = GraphConfig's
# own field); type and help come from there.
GRAPH_PARAMS: dict[str, tuple[str, str]] = {
    "debate_rounds": ("debate", "rounds"),
    "position_step": ("arbitrator", "position_step"),
    "allow_short": ("arbitrator", "allow_short"),
    "min_confidence": ("arbitrator", "min_confidence"),
    "target_vol": ("optimiser", "target_vol"),
    "max_leverage": ("risk", "max_leverage"),
    "cadence": ("", "cadence"),
    "min_hold_hours": ("turnover", "min_hold_hours"),
    "max_turnover_per_year": ("turnover", "max_per_year"),
}


def graph_field(section: str, field: str) -> FieldInfo:
    """The GraphConfig field at ``section.field`` (``field`` of GraphConfig itself when
    ``section`` is empty); a KeyError names a path that is not there."""
    if not section:
        return GraphConfig.model_fields[field]
    section_model = GraphConfig.model_fields[section].annotation
    assert isinstance(section_model, type) and issubclass(section_model, BaseModel)
    return section_model.model_fields[field]


def _params_model() -> type[StrategyParams]:
    """The strategy's parameters: one optional override per GRAPH_PARAMS entry, typed and
    described as its graph setting (so a wrong path fails on import), and ``allocation``."""
    overrides: dict[str, Any] = {}
    for name, (section, field) in GRAPH_PARAMS.items():
        setting = graph_field(section, field)
        assert setting.annotation is not None
        overrides[name] = (setting.annotation | None, Field(None, description=setting.description))
    return create_model(
        "AgentGraphParams",
        __base__=StrategyParams,
        __doc__="Overrides of the most used graph settings; the rest come from the caller's.",
        allocation=(
            str | None,
            Field(
                None, description="a `sigmax optimize --json` result: its weight caps this symbol"
            ),
        ),
        **overrides,
    )


AgentGraphParams = _params_model()


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
        """``config`` is the caller's graph configuration (``Settings.graph``); default:
        the built-in defaults. The params override it."""
        super().__init__(params)
        self.graph_config = with_overrides(config or GraphConfig(), self.params)
        self._series: DecisionSeries | None = None

    @classmethod
    def build(cls, params: StrategyParams, graph: GraphConfig | None) -> AgentGraphStrategy:
        return cls(params, graph)

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

    def decision_maker(self) -> Callable[[int], Decision] | None:
        return None if self._series is None else self._series.decision_at


def with_overrides(config: GraphConfig, params: StrategyParams) -> GraphConfig:
    """``config`` with the strategy's non-None params applied, validated again."""
    data: dict[str, Any] = config.model_dump()
    for name, value in params.model_dump().items():
        if value is not None and name in GRAPH_PARAMS:
            section, field = GRAPH_PARAMS[name]
            (data[section] if section else data)[field] = value
    return GraphConfig.model_validate(data)
