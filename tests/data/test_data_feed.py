"""Bar feeds: replay of stored bars and polling of live candles through ccxt."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from sigmax.data import load_bars
from sigmax.data.feed import CcxtCandleFeed, ReplayFeed
from sigmax.model import BarSeries

sys.path.insert(0, str(Path(__file__).parent))
from test_data_download import KLINES, RecordedBinance  # noqa: E402

HOUR_MS = 3_600_000


def test_replay_hands_out_growing_history_after_warmup() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:50]
    feed = ReplayFeed(bars, warmup=10)
    first = feed.next()
    assert first is not None and len(first) == 11
    assert first.ts[-1] == bars.ts[10]
    seen = [first] + [h for h in iter(feed.next, None)]
    assert [len(h) for h in seen] == list(range(11, 51))
    assert feed.next() is None and feed.remaining == 0
    feed.seek(int(bars.ts[29]))
    resumed = feed.next()
    assert resumed is not None and resumed.ts[-1] == bars.ts[30]


def test_replay_rejects_a_warmup_beyond_the_data() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:5]
    with pytest.raises(ValueError, match="warmup 5"):
        ReplayFeed(bars, warmup=5)


def _history(n: int) -> BarSeries:
    rows = np.array(KLINES[:n], dtype=float)
    ts = (rows[:, 0].astype(np.int64)) * 1_000_000
    return BarSeries(
        "BTC/USDT", "1h", ts, rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]
    )


def test_ccxt_feed_appends_only_closed_candles() -> None:
    exchange = RecordedBinance(available=30)  # test double: recorded Binance responses
    exchange.load_markets()
    now = {"ms": int(KLINES[24][0]) + HOUR_MS // 2}  # kline 24 is still forming
    feed = CcxtCandleFeed(exchange, _history(20), clock_ms=lambda: now["ms"])
    grown = feed.poll()
    assert grown is not None and len(grown) == 24
    assert grown.ts[-1] == int(KLINES[23][0]) * 1_000_000
    assert grown.close[-1] == float(KLINES[23][4])
    assert feed.poll() is None  # nothing new closed
    now["ms"] += HOUR_MS
    again = feed.poll()
    assert again is not None and len(again) == 25


def test_ccxt_feed_bootstraps_history_from_closed_candles_and_waits() -> None:
    exchange = RecordedBinance(available=30)  # test double: recorded Binance responses
    exchange.load_markets()
    now = {"ms": int(KLINES[20][0]) + HOUR_MS // 2}  # kline 20 is still forming
    feed = CcxtCandleFeed.bootstrap(exchange, "BTC/USDT", "1h", 12, clock_ms=lambda: now["ms"])
    assert len(feed.history) == 12
    assert feed.history.ts[-1] == int(KLINES[19][0]) * 1_000_000
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # time passes: kline 20 closes after two polls
        slept.append(seconds)
        if len(slept) == 2:
            now["ms"] += HOUR_MS

    grown = feed.wait_next(poll_s=60, timeout_s=3600, sleep=sleep)
    assert grown is not None and grown.ts[-1] == int(KLINES[20][0]) * 1_000_000
    assert slept == [60, 60]
    assert feed.wait_next(poll_s=60, timeout_s=120, sleep=lambda s: None) is None
