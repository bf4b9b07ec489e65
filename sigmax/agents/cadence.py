"""Decision cadence: the graph may decide on coarser bars than the data's.

With ``GraphConfig.cadence`` set (``4h``, the default, or ``1d``), the data's bars are
grouped into UTC-aligned windows of that length. A window is *closed* by the bar whose close time
(open + bar length) reaches the window's end; at that bar the graph decides on the
coarse bars of all windows closed so far (open of the window's first bar, highest high,
lowest low, the closing bar's close, summed volume). Between closes the target stays as
decided. A window whose closing bar is missing (a gap) is skipped, so the coarse bars
seen at a bar depend only on the bars up to it: the series and the live path agree.

Fills, risk checks and the session keep the data's cadence; only decisions are coarser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigmax.agents.indicators import series_bars_per_year
from sigmax.data.errors import DataError
from sigmax.data.timeframes import YEAR_NS, timeframe_name, timeframe_ns
from sigmax.model import BarSeries


def bar_ns(bars: BarSeries) -> int:
    """The length of one bar of ``bars`` in nanoseconds."""
    return round(YEAR_NS / series_bars_per_year(bars))


def cadence_ns(cadence: str | None, bars: BarSeries) -> int | None:
    """The cadence in nanoseconds when it is coarser than ``bars``' bars, else None
    (decide at every bar). A cadence that is not a whole number of bars is refused."""
    if cadence is None:
        return None
    size, step = timeframe_ns(cadence), bar_ns(bars)
    if size <= step:
        return None
    if size % step:
        raise DataError(
            f"graph cadence {cadence} is not a whole number of {timeframe_name(step)} bars "
            f"({bars.symbol})"
        )
    return size


@dataclass(frozen=True, slots=True)
class CoarseBars:
    """The coarse bars of the closed windows, and the data row that closed each one."""

    bars: BarSeries
    close_rows: np.ndarray


def coarse_bars(bars: BarSeries, size_ns: int) -> CoarseBars:
    """Group ``bars`` into closed windows of ``size_ns`` (see the module docstring)."""
    step = bar_ns(bars)
    closes = np.flatnonzero((bars.ts + step) % size_ns == 0)
    window_start = bars.ts[closes] - bars.ts[closes] % size_ns
    firsts = np.searchsorted(bars.ts, window_start, side="left")
    # Window k spans rows firsts[k] .. closes[k]; reduceat over the interleaved bounds
    # (the odd slots, between windows, are dropped), summing as data.resample does.
    bounds = np.empty(2 * closes.shape[0], dtype=np.intp)
    bounds[0::2], bounds[1::2] = firsts, closes + 1
    high = _windows(np.maximum, bars.high, bounds)
    low = _windows(np.minimum, bars.low, bounds)
    volume = _windows(np.add, bars.volume, bounds)
    coarse = BarSeries(
        bars.symbol,
        timeframe_name(size_ns),
        window_start.astype(np.int64),
        bars.open[firsts].copy(),
        high,
        low,
        bars.close[closes].copy(),
        volume,
    )
    return CoarseBars(coarse, closes)


def closes_window(bars: BarSeries, size_ns: int) -> bool:
    """Whether the last bar of ``bars`` closes a window (``coarse_bars(bars, size_ns)``
    has its last close at the last row), from that bar alone."""
    return len(bars) > 0 and (int(bars.ts[-1]) + bar_ns(bars)) % size_ns == 0


def _windows(ufunc: np.ufunc, values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    if bounds.size == 0:
        return np.zeros(0, dtype=np.float64)
    padded = np.append(values, 0.0)  # a window may end at the last row
    return np.asarray(ufunc.reduceat(padded, bounds)[0::2], dtype=np.float64)


def last_window(close_rows: np.ndarray, n: int) -> np.ndarray:
    """For each of ``n`` data rows, the index of the last window closed at or before it
    (-1 before the first close)."""
    return np.searchsorted(close_rows, np.arange(n), side="right") - 1
