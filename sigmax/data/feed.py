"""Bar feeds for paper and live sessions: a replay of stored bars, or live ccxt candles.

Both hand out the history so far (oldest first, the newest bar last), which is what
the decision graph's live path reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import ccxt
import numpy as np
import pandas as pd

from sigmax.data.timeframes import timeframe_ns
from sigmax.model import BarSeries


class ReplayFeed:
    """Replays a stored series bar by bar, starting after ``warmup`` bars of history."""

    def __init__(self, bars: BarSeries, warmup: int = 0) -> None:
        if not 0 <= warmup < len(bars):
            raise ValueError(f"replay: warmup {warmup} must be in [0, {len(bars)})")
        self.bars = bars
        self.position = warmup  # index of the next bar to hand out

    @property
    def remaining(self) -> int:
        return len(self.bars) - self.position

    def next(self) -> BarSeries | None:
        """History up to and including the next bar; None when the replay is over."""
        if self.position >= len(self.bars):
            return None
        self.position += 1
        return self.bars[: self.position]

    def seek(self, ts_ns: int) -> None:
        """Continue after the bar stamped ``ts_ns`` (resume after a restart)."""
        self.position = int(np.searchsorted(self.bars.ts, ts_ns, side="right"))


class CcxtCandleFeed:
    """Polls an exchange through ccxt for newly closed candles and appends them."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        history: BarSeries,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.exchange = exchange
        self.history = history
        self.clock_ms = clock_ms
        self.step_ms = timeframe_ns(history.timeframe) // 1_000_000

    @classmethod
    def bootstrap(
        cls,
        exchange: ccxt.Exchange,
        symbol: str,
        timeframe: str,
        bars: int,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> CcxtCandleFeed:
        """A feed whose history is the last ``bars`` closed candles (the warm-up)."""
        step = timeframe_ns(timeframe) // 1_000_000
        now = clock_ms()
        rows = exchange.fetch_ohlcv(
            symbol, timeframe, since=now - (bars + 1) * step, limit=bars + 2
        )
        closed = [r for r in rows if r[0] + step <= now][-bars:]
        if not closed:
            raise ValueError(
                f"{exchange.id}: no closed {timeframe} candles of {symbol} to start from"
            )
        return cls(exchange, _series(closed, symbol, timeframe), clock_ms)

    def poll(self) -> BarSeries | None:
        """The history with every newly closed bar appended; None when nothing closed."""
        last = int(self.history.ts[-1]) // 1_000_000 if len(self.history) else 0
        rows = self.exchange.fetch_ohlcv(
            self.history.symbol, self.history.timeframe, since=last + self.step_ms
        )
        now = self.clock_ms()
        closed = [r for r in rows if r[0] > last and r[0] + self.step_ms <= now]
        if not closed:
            return None
        new = _series(closed, self.history.symbol, self.history.timeframe)
        self.history = _concat(self.history, new)
        return self.history

    def wait_next(
        self, poll_s: float, timeout_s: float, sleep: Callable[[float], None] = time.sleep
    ) -> BarSeries | None:
        """Poll until a new bar closes (history returned) or ``timeout_s`` passes (None)."""
        waited = 0.0
        while True:
            grown = self.poll()
            if grown is not None or waited >= timeout_s:
                return grown
            sleep(poll_s)
            waited += poll_s


def _series(rows: list[list[float]], symbol: str, timeframe: str) -> BarSeries:
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="ms", utc=True)
    return BarSeries.from_frame(frame, symbol, timeframe)


def _concat(old: BarSeries, new: BarSeries) -> BarSeries:
    fields = ("ts", "open", "high", "low", "close", "volume")
    arrays = [np.concatenate((getattr(old, f), getattr(new, f))) for f in fields]
    return BarSeries(old.symbol, old.timeframe, *arrays)
