"""The portfolio optimiser feeding the decision graph: a symbol's optimised weight caps
how much of the equity the single-symbol graph may put into it.

The graph's optimiser node (volatility targeting) receives the arbitrator's raw
conviction; with an allocation it receives ``raw × weight`` instead, so a full-
conviction target becomes the optimiser's weight for that asset and an asset the
optimiser left out gets no position at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sigmax.agents.config import ArbitratorConfig, SizingConfig
from sigmax.agents.sizing import Sizing, vol_target
from sigmax.model import BarSeries

OptimiseNode = Callable[
    [BarSeries, np.ndarray, np.ndarray, float, SizingConfig, ArbitratorConfig], Sizing
]


def asset_of(symbol: str) -> str:
    """``BTC/USD`` → ``BTC`` (the optimiser names assets by their base currency)."""
    return symbol.split("/")[0].split("-")[0].upper()


def weight_from_result(path: Path, symbol: str) -> float:
    """The weight ``sigmax optimize --json PATH`` gave the symbol's asset (0 if not held)."""
    try:
        doc = json.loads(path.read_text())
        weights = doc["weights"]
    except FileNotFoundError:
        raise ValueError(f"allocation: no optimisation result at {path}") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(
            f"allocation: {path} is not a `sigmax optimize --json` result: {exc}"
        ) from None
    weight = float(weights.get(asset_of(symbol), 0.0))
    if not 0.0 <= weight <= 1.0:
        raise ValueError(
            f"allocation: weight {weight} of {asset_of(symbol)} in {path} outside [0, 1]"
        )
    return weight


@dataclass(frozen=True)
class AllocatedSizing(Sizing):
    """Vol-targeted sizing of a conviction capped by the portfolio optimiser's weight."""

    weight: float = 1.0

    def rationale(self, j: int, config: SizingConfig) -> str:
        return (
            f"Portfolio optimiser weight {self.weight:.0%} caps the conviction; "
            + super().rationale(j, config)
        )


def allocated_optimiser(weight: float, node: OptimiseNode = vol_target) -> OptimiseNode:
    """The graph's optimiser node with the conviction scaled by ``weight``."""

    def optimise(
        bars: BarSeries,
        rows: np.ndarray,
        raw: np.ndarray,
        previous: float,
        optimiser: SizingConfig,
        arbitrator: ArbitratorConfig,
    ) -> Sizing:
        sized = node(bars, rows, raw * weight, previous, optimiser, arbitrator)
        return AllocatedSizing(sized.vol, sized.scale, sized.target, weight=weight)

    return optimise
