"""Validate a :class:`BarSeries` built in memory (resampled, downloaded or merged)."""

from __future__ import annotations

import numpy as np

from sigmax.data.errors import DataError
from sigmax.data.parse import FIELDS, ParsedBars
from sigmax.data.timeframes import timeframe_ns
from sigmax.data.validate import check_prices, check_spacing, reject_gaps
from sigmax.model import BarSeries


def series_as_parsed(series: BarSeries, source: str) -> ParsedBars:
    """The series as ParsedBars whose rows are 1-based positions."""
    values = {name: getattr(series, name) for name in FIELDS}
    rows = np.arange(1, len(series) + 1, dtype=np.int64)
    return ParsedBars(source, "row", series.ts, values, rows)


def check_series(series: BarSeries, source: str, *, allow_gaps: bool = False) -> None:
    """Finite values, valid prices, strictly increasing on the timeframe grid, no gaps."""
    bars = series_as_parsed(series, source)
    for name, values in bars.values.items():
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(f"{bars.where(int(np.argmax(bad)))}: {name} is not finite")
    check_prices(bars)
    back = np.diff(series.ts) <= 0
    if back.any():
        i = int(np.argmax(back)) + 1
        raise DataError(f"{bars.where(i)}: timestamp does not increase (duplicate or out of order)")
    tf_ns = timeframe_ns(series.timeframe)
    check_spacing(bars, tf_ns)
    if not allow_gaps:
        reject_gaps(bars, tf_ns)
