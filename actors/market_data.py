"""The market-data feed as a Ray actor: stored bars replayed, or live candles via ccxt."""

from __future__ import annotations

import ray

from sigmax.data import load_bars
from sigmax.data.feed import ReplayFeed
from sigmax.model import BarSeries


@ray.remote
class MarketDataActor:
    """Hands out the history up to the next bar of a replayed data source."""

    def __init__(
        self,
        source: str,
        symbol: str | None,
        timeframe: str | None,
        start: int,
        stop: int | None,
        warmup: int,
    ) -> None:
        bars = load_bars(source, symbol, timeframe)
        window = bars[max(0, start - warmup) : stop]
        self.feed = ReplayFeed(window, warmup=min(warmup, start))

    def next(self) -> BarSeries | None:
        return self.feed.next()

    def remaining(self) -> int:
        return self.feed.remaining

    def seek(self, ts_ns: int) -> None:
        self.feed.seek(ts_ns)
