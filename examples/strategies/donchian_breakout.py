"""Donchian breakout: the worked example of a user strategy (docs/STRATEGIES.md).

Long ``size`` of equity from the close that beats the highest high of the
``entry_bars`` bars before it, flat again from the close that breaks the lowest low
of the ``exit_bars`` bars before it. Run it with, for example::

    sigmax backtest --strategy examples/strategies/donchian_breakout.py:DonchianBreakout \\
        --param entry_bars=20 --param exit_bars=10
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from sigmax.model import BarSeries
from sigmax.strategies import Strategy, StrategyParams


class DonchianParams(StrategyParams):
    entry_bars: int = Field(20, ge=1, description="bars whose highest high a close must beat")
    exit_bars: int = Field(10, ge=1, description="bars whose lowest low a close must break")
    size: float = Field(0.5, gt=0, le=1, description="fraction of equity held while long")


class DonchianBreakout(Strategy):
    name = "donchian_breakout"
    unit = "equity_fraction"
    Params = DonchianParams

    def targets(self, bars: BarSeries) -> np.ndarray:
        p = self.params
        assert isinstance(p, DonchianParams)
        upper = previous_extreme(bars.high, p.entry_bars, np.max)
        lower = previous_extreme(bars.low, p.exit_bars, np.min)
        wants = np.zeros(len(bars))
        held = 0.0
        for i, close in enumerate(bars.close):
            if close > upper[i]:  # comparisons with the NaN warm-up are False: flat
                held = p.size
            elif close < lower[i]:
                held = 0.0
            wants[i] = held
        return wants


def previous_extreme(
    values: np.ndarray, period: int, reduce: Callable[..., np.ndarray]
) -> np.ndarray:
    """``reduce`` over the ``period`` bars *before* each bar (never the bar itself, so
    bar ``i`` looks at ``values[i - period : i]``); NaN until that many bars exist."""
    out = np.full(len(values), np.nan)
    if len(values) > period:
        out[period:] = reduce(sliding_window_view(values, period)[:-1], axis=1)
    return out
