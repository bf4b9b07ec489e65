"""Numpy helpers shared by the analysts.

Every helper is causal (value ``i`` depends on bars ``0..i`` only) and uses only
correctly rounded operations (+, -, *, /, sqrt, min, max) or TA-Lib's sequential
recursions, so evaluating it on a prefix of a series gives bit-for-bit the same
numbers as on the whole series. No ``exp``/``log``/``tanh``: numpy's SIMD and scalar
loops may round those differently depending on array length.
"""

from __future__ import annotations

import math
from collections import deque
from typing import cast

import numpy as np
import talib
from talib import stream

from sigmax.data.errors import DataError
from sigmax.data.timeframes import bars_per_year, infer_timeframe_ns
from sigmax.model import BarSeries


def clip1(x: np.ndarray) -> np.ndarray:
    """Clip to [-1, 1] (NaN stays NaN). Two ufuncs rather than ``np.clip``, whose Python
    wrapper costs more than the work on the live path's one-element arrays."""
    return cast(np.ndarray, np.minimum(np.maximum(x, -1.0), 1.0))


def clip01(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] (NaN stays NaN), as ``clip1``."""
    return cast(np.ndarray, np.minimum(np.maximum(x, 0.0), 1.0))


def safe_div(num: np.ndarray, den: np.ndarray, default: float = 0.0) -> np.ndarray:
    """``num / den`` with ``default`` where ``den`` is 0 (flat prices, zero volume)."""
    out = np.full(np.broadcast(num, den).shape, default, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0.0)
    return out


def simple_returns(close: np.ndarray) -> np.ndarray:
    """Bar-to-bar simple returns; element 0 is 0 (no previous bar)."""
    out = np.zeros_like(close)
    out[1:] = close[1:] / close[:-1] - 1.0
    return out


def _returns_after_first(close: np.ndarray) -> np.ndarray:
    rets = simple_returns(close)
    rets[0] = np.nan  # the first bar has no return: keep it out of every window
    return rets


def realized_vol(close: np.ndarray, window: int, bars_per_year: float) -> np.ndarray:
    """Annualised rolling standard deviation of simple returns (NaN until ``window`` + 1 bars)."""
    rets = _returns_after_first(close)
    return talib.STDDEV(rets, timeperiod=window, nbdev=1.0) * math.sqrt(bars_per_year)


def series_bars_per_year(bars: BarSeries) -> float:
    """Bars per year of ``bars``: from its timeframe, else from its most common bar
    spacing; a series with neither (one bar, no timeframe) counts as hourly."""
    try:
        return bars_per_year(bars.timeframe)
    except DataError:
        spacing = infer_timeframe_ns(bars.ts)
        return bars_per_year(spacing if spacing is not None else "1h")


def _steps(close: np.ndarray) -> np.ndarray:
    steps = np.full_like(close, np.nan)
    steps[1:] = np.abs(np.diff(close))
    return steps


def net_and_path(close: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Net move and path length (sum of |steps|) over ``window`` bars; NaN for the first
    ``window`` bars."""
    net = np.full_like(close, np.nan)
    net[window:] = close[window:] - close[:-window]
    return net, talib.SUM(_steps(close), timeperiod=window)


def efficiency(net: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Kaufman efficiency ratio |net move| / path length, in [0, 1]."""
    return clip01(safe_div(np.abs(net), path))


def efficiency_ratio(close: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Kaufman efficiency ratio |net move| / path length over ``window`` bars, and the net move.

    Both NaN for the first ``window`` bars.
    """
    net, path = net_and_path(close, window)
    return efficiency(net, path), net


class LiveRealizedVol:
    """``realized_vol`` at the next bar from a TA-Lib stream opened on the history."""

    def __init__(self, close: np.ndarray, window: int, bars_per_year: float) -> None:
        rets = _returns_after_first(close)
        self._std = stream.STDDEV(rets, timeperiod=window, nbdev=1.0)
        self._scale = math.sqrt(bars_per_year)
        self._prev = float(close[-1])

    def update(self, close: float) -> float:
        ret = close / self._prev - 1.0
        self._prev = close
        return self._std.update(ret) * self._scale


class LiveNetAndPath:
    """``net_and_path`` at the next bar: the last ``window`` + 1 closes and a SUM stream."""

    def __init__(self, close: np.ndarray, window: int) -> None:
        self._closes: deque[float] = deque(close[-(window + 1) :].tolist(), maxlen=window + 1)
        self._path = stream.SUM(_steps(close), timeperiod=window)

    def update(self, close: float) -> tuple[float, float]:
        path = self._path.update(abs(close - self._closes[-1]))
        self._closes.append(close)
        return close - self._closes[0], path


class LaggedClose:
    """The close ``lag`` bars before the newest one."""

    def __init__(self, close: np.ndarray, lag: int) -> None:
        self._closes: deque[float] = deque(close[-(lag + 1) :].tolist(), maxlen=lag + 1)

    def update(self, close: float) -> float:
        self._closes.append(close)
        return self._closes[0]
