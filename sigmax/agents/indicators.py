"""Numpy helpers shared by the analysts.

Every helper is causal (value ``i`` depends on bars ``0..i`` only) and uses only
correctly rounded operations (+, -, *, /, sqrt, min, max) or TA-Lib's sequential
recursions, so evaluating it on a prefix of a series gives bit-for-bit the same
numbers as on the whole series. No ``exp``/``log``/``tanh``: numpy's SIMD and scalar
loops may round those differently depending on array length.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import talib


def clip1(x: np.ndarray) -> np.ndarray:
    """Clip to [-1, 1]."""
    return cast(np.ndarray, np.clip(x, -1.0, 1.0))


def clip01(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1]."""
    return cast(np.ndarray, np.clip(x, 0.0, 1.0))


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


def realized_vol(close: np.ndarray, window: int, bars_per_year: float) -> np.ndarray:
    """Annualised rolling standard deviation of simple returns (NaN until ``window`` + 1 bars)."""
    rets = simple_returns(close)
    rets[0] = np.nan  # the first bar has no return: keep it out of every window
    return talib.STDDEV(rets, timeperiod=window, nbdev=1.0) * math.sqrt(bars_per_year)


def efficiency_ratio(close: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Kaufman efficiency ratio |net move| / path length over ``window`` bars, and the net move.

    Both NaN for the first ``window`` bars.
    """
    net = np.full_like(close, np.nan)
    net[window:] = close[window:] - close[:-window]
    steps = np.full_like(close, np.nan)
    steps[1:] = np.abs(np.diff(close))
    path = talib.SUM(steps, timeperiod=window)
    return clip01(safe_div(np.abs(net), path)), net
