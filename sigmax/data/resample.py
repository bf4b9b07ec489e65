"""Exact OHLCV aggregation of a :class:`BarSeries` onto UTC-aligned coarser buckets.

open = first, high = max, low = min, close = last, volume = sum. A bucket is kept only
when every source bar in it is present; incomplete buckets at either edge are dropped
and an incomplete bucket inside the series is an error (the source has a gap).
"""

from __future__ import annotations

import numpy as np

from sigmax.data.errors import DataError
from sigmax.data.series_check import check_series
from sigmax.data.timeframes import DAY_NS, timeframe_name, timeframe_ns
from sigmax.model import BarSeries


def resample(series: BarSeries, timeframe: str, source: str = "resample") -> BarSeries:
    """Aggregate ``series`` to ``timeframe`` (a whole multiple of its own timeframe)."""
    src_ns, dst_ns = timeframe_ns(series.timeframe), timeframe_ns(timeframe)
    _check_target(source, src_ns, dst_ns, series.timeframe, timeframe)
    if dst_ns == src_ns:
        return series
    misaligned = series.ts % src_ns != 0
    if misaligned.any():
        i = int(np.argmax(misaligned))
        raise DataError(
            f"{source}: row {i + 1}: bar time is not on the UTC {series.timeframe} grid, "
            "so it cannot be bucketed exactly"
        )
    buckets = series.ts - series.ts % dst_ns
    starts = np.flatnonzero(np.r_[len(series) > 0, buckets[1:] != buckets[:-1]])
    counts = np.diff(np.r_[starts, len(series)])
    complete = counts == dst_ns // src_ns
    _reject_inner_holes(source, buckets[starts], complete, timeframe)
    ends = np.r_[starts[1:], len(series)] - 1
    result = BarSeries(
        series.symbol,
        timeframe_name(dst_ns),
        buckets[starts][complete].copy(),
        series.open[starts][complete],
        _reduce(np.maximum, series.high, starts)[complete],
        _reduce(np.minimum, series.low, starts)[complete],
        series.close[ends][complete],
        _reduce(np.add, series.volume, starts)[complete],
    )
    check_series(result, source)
    return result


def _reduce(ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if len(starts) == 0:
        return np.zeros(0, dtype=np.float64)
    return ufunc.reduceat(values, starts)


def _check_target(source: str, src_ns: int, dst_ns: int, src: str, dst: str) -> None:
    if dst_ns < src_ns:
        raise DataError(f"{source}: cannot resample {src} bars to the finer timeframe {dst}")
    if dst_ns % src_ns != 0:
        raise DataError(f"{source}: {dst} is not a whole multiple of {src}")
    if DAY_NS % dst_ns != 0 and dst_ns % DAY_NS != 0:
        raise DataError(f"{source}: {dst} buckets do not align with UTC days")


def _reject_inner_holes(
    source: str, bucket_ts: np.ndarray, complete: np.ndarray, timeframe: str
) -> None:
    inner = ~complete[1:-1]
    if inner.any():
        i = int(np.argmax(inner)) + 1
        when = np.datetime64(int(bucket_ts[i]), "ns")
        raise DataError(
            f"{source}: {timeframe} bucket starting {when} is missing source bars; "
            "fill the gaps first (fill_gaps=True / --fill-gaps)"
        )
