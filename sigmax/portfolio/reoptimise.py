"""Re-weighting a running portfolio session from its own recent bars.

Every N steps a session (``--reoptimise-every N``) asks the optimiser for new weights
on the returns of the bars it has seen: the last ``window`` common bar times of its
symbols. The optimiser names assets by their base currency (``BTC/USD`` → ``BTC``);
a symbol it does not select gets weight 0, so its equity-fraction target is flat.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sigmax.errors import InvalidInputError
from sigmax.model import BarSeries
from sigmax.portfolio.allocation import asset_of
from sigmax.portfolio.config import OptimiserConfig
from sigmax.portfolio.estimate import MIN_COMMON_BARS, ReturnsPanel
from sigmax.portfolio.result import OptimisationResult

DEFAULT_WINDOW = 500  # bars of returns the optimiser sees


def session_assets(symbols: list[str]) -> tuple[str, ...]:
    """The optimiser's asset names of ``symbols``; two symbols of one base are refused."""
    assets = tuple(asset_of(s) for s in symbols)
    if len(set(assets)) != len(assets):
        raise InvalidInputError(
            f"--reoptimise-every: symbols {', '.join(symbols)} share a base currency; "
            "the optimiser weights assets by base"
        )
    return assets


def recent_panel(histories: Mapping[str, BarSeries], window: int) -> ReturnsPanel | None:
    """Log returns of every symbol on the last ``window`` bar times they share; None
    when fewer than the optimiser's minimum are shared yet."""
    symbols = list(histories)
    common = histories[symbols[0]].ts
    for symbol in symbols[1:]:
        common = np.intersect1d(common, histories[symbol].ts, assume_unique=True)
    common = common[-(window + 1) :]
    if len(common) < MIN_COMMON_BARS + 1:
        return None
    prices = np.column_stack(
        [histories[s].close[np.searchsorted(histories[s].ts, common)] for s in symbols]
    )
    timeframe = histories[symbols[0]].timeframe
    return ReturnsPanel(
        session_assets(symbols), timeframe, common[1:], np.diff(np.log(prices), axis=0)
    )


def reoptimise_config(panel: ReturnsPanel, budget: int | None = None) -> OptimiserConfig:
    """The optimisation a session reruns: its assets, at most 3 held (all if fewer),
    the exact classical solver (a session must not wait on a quantum search)."""
    count = len(panel.assets)
    return OptimiserConfig(
        assets=panel.assets,
        budget=min(budget or 3, count),
        timeframe=panel.timeframe,
        solver="classical",
    )


def symbol_weights(result: OptimisationResult, symbols: list[str]) -> dict[str, float]:
    """Each symbol's weight in ``result`` (0 where its asset was not selected)."""
    return {s: float(result.weights.get(asset_of(s), 0.0)) for s in symbols}
