"""Incremental ccxt download against a recorded Binance response (no network).

``RecordedBinance`` is a test double: ccxt's real binance class builds the requests
and parses the klines; only the HTTP ``fetch`` is replaced by one that serves the
recorded responses in tests/fixtures/data, sliced by startTime/endTime/limit the
way Binance's server does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt
import numpy as np
import pytest

from sigmax.data import DataError, load_bars
from sigmax.data.download import default_dest, download_ohlcv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"
KLINES: list[list[Any]] = json.loads((FIXTURES / "binance_klines_BTCUSDT_1h.json").read_text())
HOUR_MS = 3_600_000


class RecordedBinance(ccxt.binance):  # type: ignore[misc]
    """Binance whose HTTP layer serves recorded responses; ``available`` klines only."""

    def __init__(self, available: int) -> None:
        spot_only = {"fetchMarkets": {"types": ["spot"]}}
        super().__init__({"enableRateLimit": True, "options": spot_only})
        self.available = available
        self.requests: list[dict[str, list[str]]] = []

    def milliseconds(self) -> int:
        # "now" is half way through the last available kline, which is still forming
        return int(KLINES[self.available - 1][0]) + HOUR_MS // 2

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        if parsed.path.endswith("/exchangeInfo"):
            return json.loads((FIXTURES / "binance_exchangeInfo_BTCUSDT.json").read_text())
        if parsed.path.endswith("/klines"):
            query = parse_qs(parsed.query)
            self.requests.append(query)
            start = int(query.get("startTime", ["0"])[0])
            end = int(query.get("endTime", [str(2**62)])[0])
            limit = int(query.get("limit", ["500"])[0])
            rows = [k for k in KLINES[: self.available] if start <= k[0] <= end]
            return rows[:limit]
        raise AssertionError(f"unexpected request {url}")


def test_first_download_pages_through_and_writes_parquet(tmp_path: Path) -> None:
    exchange = RecordedBinance(available=50)
    dest = tmp_path / "btc.parquet"
    result = download_ohlcv(
        "binance",
        "BTC/USDT",
        "1h",
        "2019-01-01",
        dest,
        exchange=exchange,
        progress=False,
        page_limit=20,
    )
    assert (result.fetched, result.added, result.rows, result.pages) == (49, 49, 49, 3)
    assert [q["symbol"] for q in exchange.requests] == [["BTCUSDT"]] * 3
    series = load_bars(str(dest), "BTC/USDT")
    assert series.symbol == "BTC/USDT" and series.timeframe == "1h" and len(series) == 49
    assert series.ts[0] // 1_000_000 == KLINES[0][0]
    assert series.close[0] == float(KLINES[0][4]) and series.volume[3] == float(KLINES[3][5])


def test_second_run_appends_only_new_bars(tmp_path: Path) -> None:
    dest = tmp_path / "btc.parquet"
    download_ohlcv(
        "binance",
        "BTC/USDT",
        "1h",
        "2019-01-01",
        dest,
        exchange=RecordedBinance(available=30),
        progress=False,
    )
    later = RecordedBinance(available=72)
    result = download_ohlcv(
        "binance", "BTC/USDT", "1h", "2019-01-01", dest, exchange=later, progress=False
    )
    assert int(later.requests[0]["startTime"][0]) == KLINES[29][0]  # resumes after 29 bars
    assert (result.fetched, result.added, result.rows, result.missing_bars) == (42, 42, 71, 0)
    series = load_bars(str(dest))
    np.testing.assert_array_equal(series.close, [float(k[4]) for k in KLINES[:71]])


def test_earlier_since_overlaps_and_is_deduplicated(tmp_path: Path) -> None:
    dest = tmp_path / "btc.parquet"
    download_ohlcv(
        "binance",
        "BTC/USDT",
        "1h",
        KLINES[10][0],
        dest,
        exchange=RecordedBinance(available=40),
        progress=False,
    )
    result = download_ohlcv(
        "binance",
        "BTC/USDT",
        "1h",
        KLINES[0][0],
        dest,
        exchange=RecordedBinance(available=40),
        progress=False,
    )
    assert (result.fetched, result.added, result.rows) == (39, 10, 39)
    series = load_bars(str(dest))
    np.testing.assert_array_equal(series.ts // 1_000_000, [k[0] for k in KLINES[:39]])


def test_until_stops_early_and_nothing_new_leaves_file_alone(tmp_path: Path) -> None:
    dest = tmp_path / "btc.parquet"
    first = download_ohlcv(
        "binance",
        "BTC/USDT",
        "1h",
        KLINES[0][0],
        dest,
        until=KLINES[5][0],
        exchange=RecordedBinance(available=72),
        progress=True,
    )
    assert first.rows == 5
    again = download_ohlcv(
        "binance",
        "BTC/USDT",
        "1h",
        KLINES[0][0],
        dest,
        until=KLINES[5][0],
        exchange=RecordedBinance(available=72),
        progress=False,
    )
    assert (again.fetched, again.added, again.rows) == (0, 0, 5)


def test_unknown_market_and_default_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataError, match="binance: no market 'DOGE/EUR'"):
        download_ohlcv(
            "binance",
            "DOGE/EUR",
            "1h",
            "2019-01-01",
            exchange=RecordedBinance(available=5),
            progress=False,
        )
    with pytest.raises(DataError, match="not known to ccxt"):
        download_ohlcv("no-such-exchange", "BTC/USDT", "1h", "2019-01-01", tmp_path / "x.parquet")
    monkeypatch.setenv("SIGMAX_HOME", str(tmp_path))
    expected = tmp_path / "data/binance/BTC-USDT-1h.parquet"
    assert default_dest("binance", "BTC/USDT", "1h") == expected
