"""The market-data feed as a Ray actor: stored bars replayed, or live candles via ccxt.

A source ``ccxt:<exchange>`` (e.g. ``ccxt:binance``) polls that exchange's public
candles: the last ``warmup`` closed bars start the history, then each ``next``
waits for the next bar to close.
"""

from __future__ import annotations

import ray

from sigmax.data import load_bars
from sigmax.data.download import make_exchange
from sigmax.data.feed import CcxtCandleFeed, ReplayFeed
from sigmax.model import BarSeries
from sigmax.tracing import traced_actor

LIVE_PREFIX = "ccxt:"


@ray.remote
@traced_actor
class MarketDataActor:
    """Hands out the history up to the next bar of a replayed or live data source."""

    def __init__(
        self,
        source: str,
        symbol: str | None,
        timeframe: str | None,
        start: int,
        stop: int | None,
        warmup: int,
    ) -> None:
        self.replay: ReplayFeed | None = None
        self.live: CcxtCandleFeed | None = None
        self._started = False
        if source.startswith(LIVE_PREFIX):
            if not symbol or not timeframe:
                raise ValueError(f"{source}: a live feed needs --symbol and --timeframe")
            exchange = make_exchange(source[len(LIVE_PREFIX) :])
            self.live = CcxtCandleFeed.bootstrap(exchange, symbol, timeframe, max(warmup, 2))
        else:
            bars = load_bars(source, symbol, timeframe)
            window = bars[max(0, start - warmup) : stop]
            self.replay = ReplayFeed(window, warmup=min(warmup, start))

    def next(self) -> BarSeries | None:
        if self.replay is not None:
            return self.replay.next()
        assert self.live is not None
        if not self._started:  # the newest closed bar of the warm-up is the first to act on
            self._started = True
            return self.live.history
        step_s = self.live.step_ms / 1000
        while True:  # a live feed does not end; an exchange that stalls is waited out
            grown = self.live.wait_next(poll_s=min(10.0, step_s / 6), timeout_s=step_s)
            if grown is not None:
                return grown

    def history(self) -> BarSeries | None:
        """The bars handed out so far, without advancing the feed (None before the first)."""
        if self.replay is not None:
            position = self.replay.position
            return self.replay.bars[:position] if position > 0 else None
        assert self.live is not None
        return self.live.history if self._started else None

    def remaining(self) -> int | None:
        """Bars left in a replay; None for a live feed."""
        return self.replay.remaining if self.replay is not None else None

    def seek(self, ts_ns: int) -> None:
        if self.replay is None:
            raise ValueError("seek: a live feed cannot seek")
        self.replay.seek(ts_ns)
