"""The market-data feed as a Ray actor: stored bars replayed, or live candles via ccxt.

It feeds one symbol or a portfolio: ``legs`` pairs each source with its symbol. Stored
sources are replayed together on the union of their bar times
(:class:`~sigmax.data.feed.PortfolioReplay`); ``next_step`` hands out, per step, the
history of every symbol with a bar there. A source ``ccxt:<exchange>`` (e.g.
``ccxt:binance``) polls that exchange's public candles for each of its symbols: the
last ``warmup`` closed bars start each history, then each step waits for the next
bars to close. ``next`` and ``history`` are the one-symbol views of the same.

With a PostgreSQL config (a PostgresConfig as JSON) the feed knows how far its
account's session got: ``ack`` stores the session's progress after each bar, and the
actor (a restarted one, or a new one of a resumed session) hands out the bar after
the last one stored, never one the session has already processed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray

from actors.persistence import actor_pool
from sigmax.data import load_bars
from sigmax.data.download import make_exchange
from sigmax.data.feed import CcxtCandleFeed, PortfolioReplay
from sigmax.model import BarSeries
from sigmax.storage.repos.runtime import SessionProgressRepository
from sigmax.tracing import traced_actor
from sigmax.trading.session import SessionProgress

LIVE_PREFIX = "ccxt:"


@ray.remote
@traced_actor
class MarketDataActor:
    """Hands out every symbol's history up to the next step of replayed or live data."""

    def __init__(
        self,
        legs: list[tuple[str, str | None]],
        timeframe: str | None,
        start: int,
        stop: int | None,
        warmup: int,
        account: str = "",
        postgres: str | None = None,
    ) -> None:
        self.replay: PortfolioReplay | None = None
        self.live: list[CcxtCandleFeed] = []
        self._started = False
        self.account = account
        self.postgres = postgres
        self._progress: SessionProgress | None = None
        self._loaded = postgres is None
        live = [(source, symbol) for source, symbol in legs if source.startswith(LIVE_PREFIX)]
        if live and len(live) != len(legs):
            raise ValueError("a session's data is either all live (ccxt:...) or all stored")
        if live:
            self.live = _live_feeds(live, timeframe, warmup)
        else:
            series = [load_bars(source, symbol, timeframe) for source, symbol in legs]
            self.replay = PortfolioReplay(series, start, stop, warmup)

    async def _ready(self) -> None:
        """Continue after the last step the session stored as processed, if any."""
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
        """Move a replay past ``last_bar_ts``, never back."""
        replay = self.replay
        if replay is None:
            return
        if replay.position == 0 or last_bar_ts >= int(replay.steps[replay.position - 1]):
            replay.seek(last_bar_ts)

    async def resumed(self) -> SessionProgress | None:
        """The progress the session stored last: None for a session not started yet."""
        await self._ready()
        return self._progress

    async def ack(self, progress: SessionProgress) -> int | None:
        """The session processed the step ``progress`` names: stored before it answers.
        Returns the steps left in a replay (None for a live feed)."""
        await self._ready()
        if self.postgres is not None:
            repo = SessionProgressRepository(await actor_pool(self.postgres))
            await repo.save(
                self.account, progress.last_bar_ts, progress.acted_target, progress.acted_targets
            )
        self._progress = progress
        # A restarted actor answering this call stands at the stored step before it.
        self._skip_processed(progress.last_bar_ts)
        return self.replay.remaining if self.replay is not None else None

    async def next_step(self) -> dict[str, BarSeries] | None:
        """Every symbol's history up to the next step (the symbols with a bar there);
        None when a replay is over."""
        await self._ready()
        if self.replay is not None:
            return self.replay.next()
        return await asyncio.to_thread(self._next_live)

    async def next(self) -> BarSeries | None:
        """The one symbol's history up to its next bar (a one-symbol feed)."""
        step = await self.next_step()
        return None if step is None else self._only(step)

    def _only(self, step: dict[str, BarSeries]) -> BarSeries:
        if len(step) != 1:
            raise ValueError(f"this feed has {len(step)} symbols: use next_step")
        return next(iter(step.values()))

    def _next_live(self) -> dict[str, BarSeries]:
        seen = self._progress.last_bar_ts if self._progress is not None else None
        if not self._started:  # the newest closed bars of the warm-up are the first step
            self._started = True
            first = {f.history.symbol: f.history for f in self.live}
            if seen is None or max(int(h.ts[-1]) for h in first.values()) > seen:
                return first
        step_s = self.live[0].step_ms / 1000
        while True:  # a live feed does not end; an exchange that stalls is waited out
            grown = {}
            for feed in self.live:
                history = feed.wait_next(poll_s=min(10.0, step_s / 6), timeout_s=step_s)
                if history is not None:
                    grown[history.symbol] = history
            if grown:
                newest = max(int(h.ts[-1]) for h in grown.values())
                return {s: h for s, h in grown.items() if int(h.ts[-1]) == newest}

    async def histories(self) -> dict[str, BarSeries]:
        """Every symbol's bars handed out so far, without advancing the feed."""
        if self.replay is not None:
            return {s: h for s, h in self.replay.handed_out().items() if len(h)}
        return {f.history.symbol: f.history for f in self.live} if self._started else {}

    async def history(self, symbol: str | None = None) -> BarSeries | None:
        """``symbol``'s bars handed out so far (the first symbol's without one); None
        before its first bar."""
        handed = await self.histories()
        if symbol is None:
            return next(iter(handed.values()), None)
        return handed.get(symbol)

    async def symbols(self) -> list[str]:
        """The symbols this feed hands out, in the session's order."""
        if self.replay is not None:
            return [bars.symbol for bars in self.replay.series]
        return [f.history.symbol for f in self.live]

    async def remaining(self) -> int | None:
        """Steps left in a replay; None for a live feed."""
        await self._ready()
        return self.replay.remaining if self.replay is not None else None

    async def seek(self, ts_ns: int) -> None:
        if self.replay is None:
            raise ValueError("seek: a live feed cannot seek")
        self.replay.seek(ts_ns)


def _live_feeds(
    legs: list[tuple[str, str | None]], timeframe: str | None, warmup: int
) -> list[CcxtCandleFeed]:
    """One candle feed per symbol; the symbols of one exchange share its client."""
    exchanges: dict[str, Any] = {}
    feeds = []
    for source, symbol in legs:
        if not symbol or not timeframe:
            raise ValueError(f"{source}: a live feed needs --symbol and --timeframe")
        name = source[len(LIVE_PREFIX) :]
        exchange = exchanges.setdefault(name, make_exchange(name))
        feeds.append(CcxtCandleFeed.bootstrap(exchange, symbol, timeframe, max(warmup, 2)))
    return feeds
