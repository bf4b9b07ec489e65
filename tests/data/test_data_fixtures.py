"""Raw-file excerpts load into the same bars as the bundled Parquet for those rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from sigmax.data import DataError, load_bars, load_bars_report
from sigmax.model import OHLCV, BarSeries


def assert_same_rows(part: BarSeries, bundled_name: str) -> None:
    whole = load_bars(f"bundled:{bundled_name}")
    start = int(np.searchsorted(whole.ts, part.ts[0]))
    expected = whole[start : start + len(part)]
    assert part.symbol == expected.symbol and part.timeframe == expected.timeframe
    np.testing.assert_array_equal(part.ts, expected.ts)
    for name in OHLCV:
        np.testing.assert_array_equal(getattr(part, name), getattr(expected, name), name)


def test_newest_first_cryptodatadownload_file_is_reversed(fixtures: Path) -> None:
    report = load_bars_report(str(fixtures / "coinbase_1h_newest_first.csv"))
    series = report.series
    assert report.reversed and len(series) == 100
    assert (np.diff(series.ts) > 0).all()
    assert series.volume[-1] == 61.25  # volume_btc of the newest row, not the USD volume
    assert_same_rows(series, "BTC-USD-1h")


def test_gzip_csv_loads_like_the_plain_file(fixtures: Path, tmp_path: Path) -> None:
    packed = tmp_path / "coinbase.csv.gz"
    with gzip.open(packed, "wb") as dst:
        dst.write((fixtures / "coinbase_1h_newest_first.csv").read_bytes())
    assert_same_rows(load_bars(str(packed), "BTCUSD"), "BTC-USD-1h")


def test_jumbled_rows_are_an_error_unless_reordering_is_asked(fixtures: Path) -> None:
    path = fixtures / "coinbase_1h_jumbled.csv"
    with pytest.raises(DataError, match=r"coinbase_1h_jumbled\.csv: line \d+: .*out of order"):
        load_bars(str(path))
    report = load_bars_report(str(path), reorder=True)
    assert report.rows_reordered == 10
    assert_same_rows(report.series, "BTC-USD-1h")


def test_daily_gap_is_an_error_naming_line_and_fix(fixtures: Path) -> None:
    path = fixtures / "coinbase_d_gap.csv"
    pattern = r"coinbase_d_gap\.csv: line 53: gap of 12 missing 1d bar.*--fill-gaps"
    with pytest.raises(DataError, match=pattern):
        load_bars(str(path))


def test_fill_gaps_repairs_like_the_bundled_build(fixtures: Path) -> None:
    report = load_bars_report(str(fixtures / "coinbase_d_gap.csv"), fill_gaps=True)
    assert report.gaps_filled == 12 and len(report.series) == 112
    series = report.series
    assert str(series.bar(48).ts)[:10] == "2019-03-19"
    gap = slice(49, 61)  # the 12 inserted days between 2019-03-19 and 2019-04-01
    assert (series.volume[gap] == 0).all()
    for name in ("open", "high", "low", "close"):
        assert (getattr(series, name)[gap] == 3975.01).all()  # the 2019-03-19 close
    assert series.open[61] == 4094.99
    assert_same_rows(series, "BTC-USD-1d")


def test_wide_layout_picks_symbol_and_drops_leading_empty_rows(fixtures: Path) -> None:
    path = str(fixtures / "bitstamp_eth_start.csv")
    eth = load_bars(path, "ETH/USD")
    assert eth.symbol == "ETH/USD" and len(eth) == 50
    assert str(eth.bar(0).ts) == "2017-11-09 00:00:00+00:00"
    assert_same_rows(eth, "bitstamp-ETH-USD-1d")
    assert_same_rows(load_bars(path, "BTC-USD"), "bitstamp-BTC-USD-1d")
    with pytest.raises(DataError, match="holds several symbols"):
        load_bars(path)
    with pytest.raises(DataError, match="no columns for symbol 'XRP/USD'"):
        load_bars(path, "XRP/USD")


def test_gymcrypto_layout_reads_open_close_high_low_order(fixtures: Path) -> None:
    path = fixtures / "gymcrypto_ETHUSD_30m_gap.csv"
    with pytest.raises(DataError, match=r"gymcrypto_ETHUSD_30m_gap\.csv: line 52: gap of 1"):
        load_bars(str(path))
    series = load_bars(str(path), fill_gaps=True)
    assert series.symbol == "ETH/USD" and series.timeframe == "30m"
    assert (series.high >= np.maximum(series.open, series.close)).all()
    assert_same_rows(series, "ETH-USD-30m")
