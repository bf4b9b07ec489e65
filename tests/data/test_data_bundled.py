"""Every bundled set loads by name with its symbol, timeframe and row count."""

from __future__ import annotations

import numpy as np
import pytest

from sigmax.data import DataError, list_bundled, load_bars
from sigmax.data.timeframes import timeframe_ns

EXPECTED = {
    "BTC-USD-1h": ("BTC/USD", "1h", 20111),
    "BTC-USD-1d": ("BTC/USD", "1d", 1782),
    "bitstamp-BTC-USD-1d": ("BTC/USD", "1d", 1877),
    "bitstamp-ETH-USD-1d": ("ETH/USD", "1d", 800),
    "bitstamp-LTC-USD-1d": ("LTC/USD", "1d", 937),
    "ETH-USD-30m": ("ETH/USD", "30m", 35041),
    "LTC-USD-30m": ("LTC/USD", "30m", 35041),
    "XRP-USD-30m": ("XRP/USD", "30m", 35041),
    "EOS-USD-30m": ("EOS/USD", "30m", 35041),
}


def test_index_lists_exactly_the_expected_sets() -> None:
    assert sorted(e["name"] for e in list_bundled()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_set_loads_with_its_symbol_timeframe_and_rows(name: str) -> None:
    symbol, timeframe, rows = EXPECTED[name]
    series = load_bars(f"bundled:{name}")
    assert (series.symbol, series.timeframe, len(series)) == (symbol, timeframe, rows)
    assert series.ts.dtype == np.int64 and series.close.dtype == np.float64
    assert (np.diff(series.ts) == timeframe_ns(timeframe)).all()
    entry = next(e for e in list_bundled() if e["name"] == name)
    assert entry["rows"] == rows and entry["symbol"] == symbol


def test_btc_hourly_spans_the_documented_range() -> None:
    series = load_bars("bundled:BTC-USD-1h", "BTC-USD", "1h")
    assert str(series.bar(0).ts) == "2017-07-01 11:00:00+00:00"
    assert str(series.bar(len(series) - 1).ts) == "2019-10-17 09:00:00+00:00"


def test_gymcrypto_gap_counts_are_recorded() -> None:
    filled = {e["name"]: e["gaps_filled"] for e in list_bundled()}
    assert filled["ETH-USD-30m"] == 30 and filled["LTC-USD-30m"] == 52
    assert all(30 <= filled[f"{c}-USD-30m"] <= 52 for c in ("ETH", "LTC", "XRP", "EOS"))


def test_unknown_bundled_name_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match=r"bundled:nope: no such bundled data set.*BTC-USD-1h"):
        load_bars("bundled:nope")


def test_wrong_symbol_for_bundled_set_is_an_error() -> None:
    with pytest.raises(DataError, match="holds BTC/USD, not the requested ETH/USD"):
        load_bars("bundled:BTC-USD-1h", "ETH/USD")


def test_coarser_timeframe_resamples_and_finer_is_an_error() -> None:
    daily = load_bars("bundled:BTC-USD-1h", timeframe="1d")
    assert daily.timeframe == "1d" and (daily.ts % timeframe_ns("1d") == 0).all()
    with pytest.raises(DataError, match="cannot give the finer 30m"):
        load_bars("bundled:BTC-USD-1h", timeframe="30m")
