"""The session's read answers (``/status``, ``/positions``, ``/portfolio``) kept in the
replica until the session publishes its next event.

What these endpoints read changes only when the session does something, and the
session publishes every such step: a bar decided (``decisions``: prices, bars left,
marks), an order or fill (``orders``, ``fills``: positions, cash), a risk state
change (``risk``) and its start and end (``status``). The replica subscribes to
those topics; any event of the served session drops every kept answer, so the next
request asks the actors again. Between events, requests are answered from memory
without an actor round trip.

Changes made through the API itself publish no session event (an operator's
order, a risk control, an approved proposal): every replica drops its answers on a
write request through it (the middleware calls :meth:`SessionReads.changed`), and
the replica that served the write tells the others on a Redis channel of its own
(``<rate_limit_prefix>reads``), which each replica also listens to.

That is sound only when both reach this process: the bus must be shared (Redis,
not the in-process fallback) and both subscriptions alive. Otherwise, and for at
most ``max_age_s`` even then (a safety net against a lost message), nothing is
kept. Concurrent requests for the same answer share one load, and a load that a
change overtook is used once but not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger(__name__)

TOPICS = ("decisions", "orders", "fills", "risk", "proposals", "status")

# a source of change notices: yields the session id of each change, forever
Source = Callable[[], AsyncIterator[str]]
RESUBSCRIBE_AFTER_S = 5.0


class SessionReads:
    """Answers by name, valid until an event of ``session_id`` or ``max_age_s``."""

    def __init__(
        self,
        session_id: str,
        max_age_s: float,
        sources: list[Source],
        shared: Callable[[], bool],
        announce: Callable[[str], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = session_id
        self.max_age_s = max_age_s
        self._sources = sources
        self._shared = shared
        self._announce = announce
        self._clock = clock
        self._kept: dict[str, tuple[Any, float]] = {}
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._epoch = 0
        self._listeners: list[asyncio.Task[None]] = []
        self._listening: set[int] = set()
        self._failed_at: float | None = None
        self.loads = 0  # answers loaded from the actors (tests, profile)

    @property
    def active(self) -> bool:
        """Whether answers are kept now (events reach this replica)."""
        return (
            self.max_age_s > 0
            and bool(self._sources)
            and len(self._listening) == len(self._sources)
            and self._shared()
        )

    def invalidate(self) -> None:
        self._epoch += 1
        self._kept.clear()

    async def changed(self) -> None:
        """A write went through this replica: drop the answers here and tell the others."""
        self.invalidate()
        if self._announce is not None and self.max_age_s > 0:
            try:
                await self._announce(self.session_id)
            except Exception as exc:  # the others fall back on max_age_s
                log.warning("session read cache: change not announced", error=str(exc)[:300])

    async def get(self, name: str, load: Callable[[], Awaitable[T]]) -> T:
        """The kept answer ``name``, else ``await load()`` (shared by concurrent callers)."""
        self._ensure_listener()
        if self.active:
            kept = self._kept.get(name)
            if kept is not None and self._clock() - kept[1] < self.max_age_s:
                value: T = kept[0]
                return value
        pending = self._loading.get(name)
        if pending is None:
            pending = asyncio.ensure_future(self._load(name, load))
            self._loading[name] = pending
        result: T = await asyncio.shield(pending)
        return result

    async def _load(self, name: str, load: Callable[[], Awaitable[T]]) -> T:
        epoch, started = self._epoch, self._clock()
        try:
            value = await load()
        finally:
            self._loading.pop(name, None)
        self.loads += 1
        if self.active and epoch == self._epoch:
            self._kept[name] = (value, started)
        return value

    def _ensure_listener(self) -> None:
        if not self._sources or self.max_age_s <= 0:
            return
        if self._listeners and not any(t.done() for t in self._listeners):
            return
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < RESUBSCRIBE_AFTER_S:
            return
        for task in self._listeners:
            task.cancel()
        self._listening.clear()
        self._listeners = [
            asyncio.ensure_future(self._listen(i, source)) for i, source in enumerate(self._sources)
        ]

    async def _listen(self, index: int, source: Source) -> None:
        notices = source()
        try:
            async for session_id in notices:
                if index not in self._listening:  # the first notice: subscribed
                    self.invalidate()  # anything kept before may have missed changes
                    self._listening.add(index)
                    continue
                if session_id == self.session_id:
                    self.invalidate()
        except Exception as exc:  # overflow, bus away: keep nothing until resubscribed
            log.warning("session read cache: events lost", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._listening.discard(index)
            self._failed_at = self._clock()
            self.invalidate()
            with contextlib.suppress(BaseException):
                await notices.aclose()  # type: ignore[attr-defined]

    async def close(self) -> None:
        for task in self._listeners:
            task.cancel()
        for task in self._listeners:
            with contextlib.suppress(BaseException):
                await task
        self._listeners = []


SUBSCRIBED = ""  # what a source yields first, once it listens (no session has this id)
