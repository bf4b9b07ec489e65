"""The one strategy interface every SIGMAX strategy implements (freqtrade-style hooks).

A strategy says what position it wants; the engine turns wants into orders through
the risk engine and the execution venue, so strategies hold no order logic.

Hooks:

* ``targets(bars)`` (required): vectorised wanted position for every bar of a
  series. The value at bar ``i`` may use ``bars[: i + 1]`` only: it is acted on at
  that bar's close and filled at the next bar at the earliest.
* ``target_at(history)``: the live, per-bar hook; by default the last value of
  ``targets(history)``, so backtest and live agree by construction. Strategies with
  a cheaper incremental path override it and must keep the two identical.
* ``decision_at(i)``: the full :class:`~sigmax.model.Decision` behind bar ``i`` of the
  last ``targets`` call, when the strategy has one (the agent graph does).

``unit`` says how to read a target: ``"qty"`` is a signed quantity of the base asset;
``"equity_fraction"`` is the wanted exposure as a fraction of equity.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from sigmax.errors import InvalidInputError
from sigmax.model import BarSeries, Decision

if TYPE_CHECKING:
    from sigmax.agents.config import GraphConfig

TargetUnit = Literal["qty", "equity_fraction"]


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model (frozen, unknown keys rejected)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class StrategyError(InvalidInputError):
    """A strategy was named or parameterised wrongly."""


class Strategy(ABC):
    name: ClassVar[str]
    unit: ClassVar[TargetUnit]
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, params: StrategyParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def from_strings(cls, pairs: dict[str, str], graph: GraphConfig | None = None) -> Strategy:
        """Build from ``--param k=v`` strings, validated by the strategy's Params model;
        ``graph`` is the caller's decision-graph configuration, for strategies that use it."""
        try:
            return cls.build(cls.Params.model_validate(pairs), graph)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
                for e in exc.errors()
            )
            raise StrategyError(f"strategy {cls.name}: bad --param ({problems})") from None

    @classmethod
    def build(cls, params: StrategyParams, graph: GraphConfig | None) -> Strategy:
        """The strategy from validated params; one that runs the decision graph overrides
        this to take ``graph``."""
        return cls(params)

    @abstractmethod
    def targets(self, bars: BarSeries) -> np.ndarray:
        """Wanted position at every bar (float64, len(bars)), see the module docstring."""

    def target_at(self, history: BarSeries) -> float:
        return float(self.targets(history)[-1])

    def decision_at(self, i: int) -> Decision | None:
        return None

    def decision_maker(self) -> Callable[[int], Decision] | None:
        """For a strategy that explains every bar of its last run (the agent graph):
        the function that gives the decision at bar ``i`` of that run, unchanged by
        later runs, so a backtest builds decisions only when they are read. None: ask
        :meth:`decision_at` at the time."""
        return None
