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


class PortfolioReplay:
    """Replays several symbols' stored bars together, one timestamp (a *step*) at a time.

    The steps are the union of every series' bar times; ``start`` and ``stop`` index
    that union (with one series, its own bars: the same as :class:`ReplayFeed`). Each
    series keeps up to ``warmup`` bars from before the first step as history. A step
    hands out the history of every symbol that has a bar there; a symbol without one
    sits that step out.
    """

    def __init__(self, series: list[BarSeries], start: int, stop: int | None, warmup: int) -> None:
        if not series:
            raise ValueError("replay: no bar series")
        timeline = np.unique(np.concatenate([bars.ts for bars in series]))
        if not 0 <= start < len(timeline):
            raise ValueError(
                f"replay: --start {start} is outside the data's {len(timeline)} bar times"
            )
        self.steps = timeline[start:stop]
        if len(self.steps) == 0:
            raise ValueError(f"replay: no bar time between --start {start} and {stop}")
        first, last = int(self.steps[0]), int(self.steps[-1])
        self.series: list[BarSeries] = []
        self.cursor: list[int] = []  # per series: bars handed out so far
        self.floor: list[int] = []  # per series: its warm-up, never sought back into
        for bars in series:
            begin = int(np.searchsorted(bars.ts, first, side="left"))
            end = int(np.searchsorted(bars.ts, last, side="right"))
            lead = min(warmup, begin)
            self.series.append(bars[begin - lead : end])
            self.cursor.append(lead)
            self.floor.append(lead)
        self.position = 0  # index of the next step

    @property
    def remaining(self) -> int:
        return len(self.steps) - self.position

    def next(self) -> dict[str, BarSeries] | None:
        """Every symbol's history up to the next step, for the symbols with a bar there;
        None when the replay is over."""
        if self.position >= len(self.steps):
            return None
        ts = int(self.steps[self.position])
        self.position += 1
        step: dict[str, BarSeries] = {}
        for k, bars in enumerate(self.series):
            at = self.cursor[k]
            if at < len(bars) and int(bars.ts[at]) == ts:
                self.cursor[k] = at + 1
                step[bars.symbol] = bars[: at + 1]
        return step

    def handed_out(self) -> dict[str, BarSeries]:
        """Every symbol's bars handed out so far (warm-up included)."""
        return {bars.symbol: bars[: self.cursor[k]] for k, bars in enumerate(self.series)}

    def seek(self, ts_ns: int) -> None:
        """Continue after the step stamped ``ts_ns`` (resume after a restart)."""
        self.position = int(np.searchsorted(self.steps, ts_ns, side="right"))
        for k, bars in enumerate(self.series):
            after = int(np.searchsorted(bars.ts, ts_ns, side="right"))
            self.cursor[k] = max(after, self.floor[k])


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
