"""The market-data feed as a Ray actor: stored bars replayed, or live candles via ccxt.

A source ``ccxt:<exchange>`` (e.g. ``ccxt:binance``) polls that exchange's public
candles: the last ``warmup`` closed bars start the history, then each ``next``
waits for the next bar to close.

With a PostgreSQL config (a PostgresConfig as JSON) the feed knows how far its
account's session got: ``ack`` stores the session's progress after each bar, and the
actor (a restarted one, or a new one of a resumed session) hands out the bar after
the last one stored, never one the session has already processed.
"""

from __future__ import annotations

import asyncio

import ray

from actors.persistence import actor_pool
from sigmax.data import load_bars
from sigmax.data.download import make_exchange
from sigmax.data.feed import CcxtCandleFeed, ReplayFeed
from sigmax.model import BarSeries
from sigmax.storage.repos.runtime import SessionProgressRepository
from sigmax.tracing import traced_actor
from sigmax.trading.session import SessionProgress

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
        account: str = "",
        postgres: str | None = None,
    ) -> None:
        self.replay: ReplayFeed | None = None
        self.live: CcxtCandleFeed | None = None
        self._started = False
        self.account = account
        self.postgres = postgres
        self._progress: SessionProgress | None = None
        self._loaded = postgres is None
        if source.startswith(LIVE_PREFIX):
            if not symbol or not timeframe:
                raise ValueError(f"{source}: a live feed needs --symbol and --timeframe")
            exchange = make_exchange(source[len(LIVE_PREFIX) :])
            self.live = CcxtCandleFeed.bootstrap(exchange, symbol, timeframe, max(warmup, 2))
        else:
            bars = load_bars(source, symbol, timeframe)
            window = bars[max(0, start - warmup) : stop]
            self.replay = ReplayFeed(window, warmup=min(warmup, start))

    async def _ready(self) -> None:
        """Continue after the last bar the session stored as processed, if any."""
        if self._loaded:
            return
        assert self.postgres is not None
        repo = SessionProgressRepository(await actor_pool(self.postgres))
        stored = await repo.load(self.account)
        if stored is not None:
            self._progress = SessionProgress(*stored)
            self._skip_processed(self._progress.last_bar_ts)
        self._loaded = True

    def _skip_processed(self, last_bar_ts: int) -> None:
        """Move a replay past ``last_bar_ts``, never back into its warm-up."""
        replay = self.replay
        if replay is None:
            return
        if replay.position == 0 or last_bar_ts >= int(replay.bars.ts[replay.position - 1]):
            replay.seek(last_bar_ts)

    async def resumed(self) -> SessionProgress | None:
        """The progress the session stored last: None for a session not started yet."""
        await self._ready()
        return self._progress

    async def ack(self, progress: SessionProgress) -> None:
        """The session processed the bar ``progress`` names: stored before it answers."""
        await self._ready()
        if self.postgres is not None:
            repo = SessionProgressRepository(await actor_pool(self.postgres))
            await repo.save(self.account, progress.last_bar_ts, progress.acted_target)
        self._progress = progress
        # A restarted actor answering this call stands at the stored bar before it.
        self._skip_processed(progress.last_bar_ts)

    async def next(self) -> BarSeries | None:
        await self._ready()
        if self.replay is not None:
            return self.replay.next()
        return await asyncio.to_thread(self._next_live)

    def _next_live(self) -> BarSeries:
        assert self.live is not None
        seen = self._progress.last_bar_ts if self._progress is not None else None
        if not self._started:  # the newest closed bar of the warm-up is the first to act on
            self._started = True
            if seen is None or int(self.live.history.ts[-1]) > seen:
                return self.live.history
        step_s = self.live.step_ms / 1000
        while True:  # a live feed does not end; an exchange that stalls is waited out
            grown = self.live.wait_next(poll_s=min(10.0, step_s / 6), timeout_s=step_s)
            if grown is not None:
                return grown

    async def history(self) -> BarSeries | None:
        """The bars handed out so far, without advancing the feed (None before the first)."""
        if self.replay is not None:
            position = self.replay.position
            return self.replay.bars[:position] if position > 0 else None
        assert self.live is not None
        return self.live.history if self._started else None

    async def remaining(self) -> int | None:
        """Bars left in a replay; None for a live feed."""
        await self._ready()
        return self.replay.remaining if self.replay is not None else None

    async def seek(self, ts_ns: int) -> None:
        if self.replay is None:
            raise ValueError("seek: a live feed cannot seek")
        self.replay.seek(ts_ns)
