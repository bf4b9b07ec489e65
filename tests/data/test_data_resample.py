"""Resampling is exact first/max/min/last/sum on complete UTC buckets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sigmax.data import DataError, load_bars, resample
from sigmax.model import BarSeries

H = 3_600_000_000_000


def hourly(start: str, closes: list[float]) -> BarSeries:
    n = len(closes)
    ts = pd.Timestamp(start, tz="UTC").value + np.arange(n, dtype=np.int64) * H
    close = np.array(closes, dtype=np.float64)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + 1.0
    low = np.minimum(open_, close) - 1.0
    volume = np.arange(1, n + 1, dtype=np.float64)
    return BarSeries("BTC/USD", "1h", ts, open_, high, low, close, volume)


def test_hand_computed_four_hour_bars_drop_incomplete_edges() -> None:
    # 22:00 .. 07:00: the 20:00 bucket (22, 23 only) and the 04:00 bucket
    # (04..07 present) -> the 00:00 and 04:00 buckets are complete, 20:00 is not.
    series = hourly("2024-01-01 22:00", [10, 12, 11, 15, 14, 13, 16, 18, 17, 20])
    out = resample(series, "4h")
    assert out.timeframe == "4h"
    assert [str(pd.Timestamp(t, tz="UTC")) for t in out.ts] == [
        "2024-01-02 00:00:00+00:00",
        "2024-01-02 04:00:00+00:00",
    ]
    np.testing.assert_array_equal(out.open, [12.0, 13.0])  # open of 00:00 = close of 23:00
    np.testing.assert_array_equal(out.close, [13.0, 20.0])
    np.testing.assert_array_equal(out.high, [16.0, 21.0])
    np.testing.assert_array_equal(out.low, [10.0, 12.0])
    np.testing.assert_array_equal(out.volume, [3 + 4 + 5 + 6, 7 + 8 + 9 + 10])


def test_thirty_minutes_to_hour_to_day_equals_thirty_minutes_to_day() -> None:
    bars = load_bars("bundled:ETH-USD-30m")[: 48 * 20 + 17]
    direct = resample(bars, "1d")
    stepped = resample(resample(bars, "1h"), "1d")
    assert len(direct) == 20
    np.testing.assert_array_equal(direct.ts, stepped.ts)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(direct, name), getattr(stepped, name))
    # sums of floats in another grouping differ at most in the last bits
    np.testing.assert_allclose(direct.volume, stepped.volume, rtol=1e-12, atol=0)


def test_daily_bars_match_pandas_groupby() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[: 24 * 10]
    frame = bars.to_frame()
    expected = frame.groupby(frame.index.floor("1D")).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    counts = frame.groupby(frame.index.floor("1D")).size()
    expected = expected[counts == 24]
    out = resample(bars, "1d")
    np.testing.assert_array_equal(out.close, expected["close"].to_numpy())
    np.testing.assert_array_equal(out.high, expected["high"].to_numpy())
    np.testing.assert_allclose(out.volume, expected["volume"].to_numpy(), rtol=1e-12)


def test_inner_hole_and_bad_targets_are_errors() -> None:
    series = hourly("2024-01-01 00:00", [float(10 + i % 3) for i in range(12)])
    holed = BarSeries(
        "BTC/USD",
        "1h",
        np.delete(series.ts, 5),
        *(np.delete(getattr(series, n), 5) for n in ("open", "high", "low", "close", "volume")),
    )
    with pytest.raises(DataError, match="4h bucket starting 2024-01-01T04:00.* missing"):
        resample(holed, "4h")
    with pytest.raises(DataError, match="finer timeframe 30m"):
        resample(series, "30m")
    with pytest.raises(DataError, match="5h buckets do not align with UTC days"):
        resample(series, "5h")
