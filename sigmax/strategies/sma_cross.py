"""A plain reference strategy: long ``size`` units while SMA(fast) > SMA(slow)."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, model_validator

from sigmax.model import BarSeries
from sigmax.strategies.base import Strategy, StrategyParams


class SmaCrossParams(StrategyParams):
    fast: int = Field(10, ge=1, description="bars in the fast simple moving average")
    slow: int = Field(30, ge=2, description="bars in the slow simple moving average")
    size: float = Field(1.0, gt=0, description="units of the base asset held while long")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be < slow ({self.slow})")
        return self


class SmaCross(Strategy):
    """Long ``size`` while SMA(fast) > SMA(slow) at a bar's close, flat otherwise.

    Where the two averages are within a few ulps of a tie, they are recomputed as
    exactly-rounded sums (``math.fsum``) over the period, as backtrader computes
    them, so near-ties compare the same way in both; elsewhere numpy is exact enough.
    """

    name = "sma_cross"
    unit = "qty"
    Params = SmaCrossParams

    def targets(self, bars: BarSeries) -> np.ndarray:
        p = self.params
        assert isinstance(p, SmaCrossParams)
        close = bars.close
        fast, slow = sma(close, p.fast), sma(close, p.slow)
        valid = ~np.isnan(slow)
        diff = np.where(valid, fast - slow, 0.0)
        near_tie = valid & (np.abs(diff) <= 64 * np.finfo(float).eps * np.abs(slow))
        for i in np.flatnonzero(near_tie):
            diff[i] = _fsum_mean(close, int(i), p.fast) - _fsum_mean(close, int(i), p.slow)
        return np.where(diff > 0, p.size, 0.0)


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average (numpy pairwise window sums); NaN for the first period-1."""
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] >= period:
        out[period - 1 :] = sliding_window_view(values, period).sum(axis=1) / period
    return out


def _fsum_mean(values: np.ndarray, end: int, period: int) -> float:
    """Exactly-rounded mean of the window ending at ``end``, as backtrader computes it."""
    return math.fsum(values[end - period + 1 : end + 1]) / period
