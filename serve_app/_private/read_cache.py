"""The session's read answers (``/status``, ``/positions``, ``/portfolio``) kept in the
replica until the session publishes its next event.

What these endpoints read changes only when the session does something, and the
session publishes every such step: a bar decided (``decisions``: prices, bars left,
marks), an order or fill (``orders``, ``fills``: positions, cash), a risk state
change (``risk``) and its start and end (``status``). The replica subscribes to
those topics; any event of the served session drops every kept answer, so the next
request asks the actors again. Between events, requests are answered from memory
without an actor round trip.

That is sound only when the events reach this process: the bus must be shared
(Redis or NATS, not the in-process fallback) and the subscription alive. Otherwise,
and for at most ``max_age_s`` even then (a safety net against a lost message),
nothing is kept. Concurrent requests for the same answer share one load, and a
load that an event overtook is used once but not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from sigmax.events import Subscription

T = TypeVar("T")
log = structlog.get_logger(__name__)

TOPICS = ("decisions", "orders", "fills", "risk", "status")
RESUBSCRIBE_AFTER_S = 5.0


class SessionReads:
    """Answers by name, valid until an event of ``session_id`` or ``max_age_s``."""

    def __init__(
        self,
        session_id: str,
        max_age_s: float,
        subscribe: Callable[[], Awaitable[Subscription]] | None,
        shared: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = session_id
        self.max_age_s = max_age_s
        self._subscribe = subscribe
        self._shared = shared
        self._clock = clock
        self._kept: dict[str, tuple[Any, float]] = {}
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._epoch = 0
        self._listener: asyncio.Task[None] | None = None
        self._listening = False
        self._failed_at: float | None = None
        self.loads = 0  # answers loaded from the actors (tests, profile)

    @property
    def active(self) -> bool:
        """Whether answers are kept now (events reach this replica)."""
        return self.max_age_s > 0 and self._listening and self._shared()

    def invalidate(self) -> None:
        self._epoch += 1
        self._kept.clear()

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
        if self._subscribe is None or self.max_age_s <= 0:
            return
        if self._listener is not None and not self._listener.done():
            return
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < RESUBSCRIBE_AFTER_S:
            return
        self._listener = asyncio.ensure_future(self._listen())

    async def _listen(self) -> None:
        assert self._subscribe is not None
        subscription: Subscription | None = None
        try:
            subscription = await self._subscribe()
            self.invalidate()  # anything kept before may have missed events
            self._listening = True
            while True:
                event = await subscription.get()
                if event.session_id == self.session_id:
                    self.invalidate()
        except StopAsyncIteration:
            pass
        except Exception as exc:  # overflow, bus away: keep nothing until resubscribed
            log.warning("session read cache: events lost", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._listening = False
            self._failed_at = self._clock()
            self.invalidate()
            if subscription is not None:
                with contextlib.suppress(Exception):
                    subscription.close()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
