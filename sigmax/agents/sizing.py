"""Position sizing by volatility targeting, the optimiser node of the decision graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigmax.agents.arbitrator import quantise_with_hysteresis
from sigmax.agents.config import ArbitratorConfig, SizingConfig
from sigmax.agents.indicators import realized_vol, series_bars_per_year
from sigmax.model import BarSeries


@dataclass(frozen=True, slots=True)
class Sizing:
    """The sized target per decided bar.

    ``vol`` is annualised realised vol over ``vol_window``; ``scale`` =
    min(1, target_vol / vol) (1 where vol is 0 or unknown); ``target`` = raw conviction
    * scale, quantised to the step grid with hysteresis.
    """

    vol: np.ndarray
    scale: np.ndarray
    target: np.ndarray

    def rationale(self, j: int, config: SizingConfig) -> str:
        return (
            f"Vol targeting: realised vol {self.vol[j]:.1%} vs target {config.target_vol:.0%} "
            f"-> scale {self.scale[j]:.2f} -> sized target {self.target[j]:+.2f}."
        )


def vol_target(
    bars: BarSeries,
    rows: np.ndarray,
    raw: np.ndarray,
    previous: float,
    optimiser: SizingConfig,
    arbitrator: ArbitratorConfig,
) -> Sizing:
    """Scale ``raw`` (the arbitrator's unquantised target at ``rows``) down when the
    market is more volatile than ``target_vol``, never up, then quantise with hysteresis
    starting from ``previous`` (the sized target of the bar before ``rows[0]``)."""
    per_year = optimiser.bars_per_year or series_bars_per_year(bars)
    vol = realized_vol(bars.close, optimiser.vol_window, per_year)[rows]
    known = np.isfinite(vol) & (vol > 0.0)
    scale = np.ones_like(vol)
    np.divide(optimiser.target_vol, vol, out=scale, where=known)
    scale = np.minimum(scale, 1.0)
    target = quantise_with_hysteresis(
        raw * scale, arbitrator.position_step, arbitrator.hysteresis, previous
    )
    return Sizing(np.where(known, vol, 0.0), scale, target)


__all__ = ["Sizing", "series_bars_per_year", "vol_target"]
