"""Publishing and subscribing to live events.

Publishers are synchronous (the trading session is): :meth:`EventPublisher.publish`
hands the event to a background thread with its own event loop and a bounded
queue, so the bar loop never waits on the network. Nothing is dropped: when the
queue is full, ``publish`` blocks until there is room (and logs that it does).

Subscribers are asynchronous: :meth:`EventSubscriber.subscribe` returns a
:class:`Subscription`, an async iterator of the events of its topics, published
from the moment ``subscribe`` returned. Each subscription buffers up to
``subscriber_queue_size`` events; a subscriber that falls further behind is cut
off (:class:`SubscriberOverflow`) rather than silently missing events.

Implementations: :class:`MemoryEventBus` (this process only) here,
:class:`~sigmax.events.redis_bus.RedisEventBus` (fan-out to every process, e.g.
every API replica) and :class:`~sigmax.events.nats_bus.NatsEventPublisher`
(durable, de-duplicated JetStream stream) next to it, combined by
:class:`FanOutPublisher`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import structlog

from sigmax.errors import InvalidInputError, UnavailableError
from sigmax.events.model import TOPICS, Event

_log = structlog.get_logger(__name__)

MEMORY_ONLY = "redis not configured: events reach only subscribers in this process"


class SubscriberOverflow(UnavailableError, RuntimeError):
    """A subscriber fell more than its buffer behind and was cut off."""


class PublisherClosed(UnavailableError, RuntimeError):
    """``publish`` after ``close``."""


def check_topics(topics: Iterable[str]) -> frozenset[str]:
    """The topics as a set; ``InvalidInputError`` naming any unknown one."""
    wanted = frozenset(topics)
    unknown = sorted(wanted - set(TOPICS))
    if unknown:
        raise InvalidInputError(f"unknown topic(s) {unknown}; valid topics: {list(TOPICS)}")
    return wanted


@dataclass(frozen=True, slots=True)
class EventsHealth:
    """One bus's state: ``fallback_active`` when events cannot leave this process."""

    backend: str
    fallback_active: bool
    reason: str | None
    published: int = 0
    failed: int = 0
    pending: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "degraded" if self.fallback_active or self.reason else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "status": self.status,
            "fallback_active": self.fallback_active,
            "reason": self.reason,
            "published": self.published,
            "failed": self.failed,
            "pending": self.pending,
            **self.details,
        }


@runtime_checkable
class EventPublisher(Protocol):
    """Where the trading session sends its events. ``publish`` never waits on I/O for
    long; ``flush`` waits until everything published so far is sent."""

    def publish(self, event: Event) -> None: ...
    def flush(self, timeout: float | None = 10.0) -> bool: ...
    def close(self, timeout: float | None = 10.0) -> None: ...
    def health(self) -> EventsHealth: ...


@runtime_checkable
class EventSubscriber(Protocol):
    """Where the API reads events from."""

    async def subscribe(self, topics: Iterable[str] = ()) -> Subscription: ...
    def health(self) -> EventsHealth: ...


class Subscription:
    """The events of some topics, in publication order, as an async iterator.

    Belongs to the event loop that created it; the topics can change while it runs
    (:meth:`add`, :meth:`remove`). Close it (or use ``async with``) when done.
    """

    _CLOSED = None

    def __init__(
        self, topics: Iterable[str], maxsize: int, on_close: Callable[[Subscription], None]
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._topics = check_topics(topics)
        self._maxsize = maxsize
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._on_close = on_close
        self._closed = False
        self._overflow: str | None = None

    @property
    def topics(self) -> frozenset[str]:
        return self._topics

    @property
    def closed(self) -> bool:
        return self._closed

    def add(self, topics: Iterable[str]) -> frozenset[str]:
        self._topics = self._topics | check_topics(topics)
        return self._topics

    def remove(self, topics: Iterable[str]) -> frozenset[str]:
        self._topics = self._topics - check_topics(topics)
        return self._topics

    def offer_threadsafe(self, event: Event) -> bool:
        """Queue ``event`` from any thread; False once this subscription's loop is gone."""
        if self._closed or event.topic not in self._topics:
            return not self._closed
        try:
            self._loop.call_soon_threadsafe(self._offer, event)
        except RuntimeError:  # the loop is closed: its owner went away without closing us
            self._closed = True
            return False
        return True

    def _offer(self, event: Event) -> None:
        if self._closed or event.topic not in self._topics:
            return
        if self._queue.qsize() >= self._maxsize:
            self._overflow = (
                f"subscriber fell more than {self._maxsize} events behind and was cut off"
            )
            _log.warning("event subscriber overflow", maxsize=self._maxsize)
            self._shut()
            return
        self._queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` s without one,
        :class:`SubscriberOverflow` if cut off, ``StopAsyncIteration`` once closed."""
        if self._closed and self._queue.empty():
            self._raise_closed()
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            self._queue.put_nowait(None)  # wake any other waiter too
            self._raise_closed()
        assert item is not None
        return item

    def _raise_closed(self) -> None:
        if self._overflow is not None:
            raise SubscriberOverflow(self._overflow)
        raise StopAsyncIteration

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    def _shut(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)
            self._on_close(self)

    def close(self) -> None:
        """Stop receiving; a pending or later ``get`` ends the iteration. Call from the
        subscription's own loop."""
        self._shut()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class LocalHub:
    """Delivers events to the subscriptions of this process, whatever their loop."""

    def __init__(self, maxsize: int = 1_000) -> None:
        self.maxsize = maxsize
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._subs)

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = Subscription(topics, self.maxsize, self._remove)
        with self._lock:
            self._subs.add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def deliver(self, event: Event) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if not sub.offer_threadsafe(event):
                self._remove(sub)


class MemoryEventBus:
    """In-process publisher and subscriber: the fallback without Redis.

    Events reach only subscriptions of this process; ``health()`` says so.
    """

    def __init__(self, subscriber_queue_size: int = 1_000, reason: str = MEMORY_ONLY) -> None:
        self._hub = LocalHub(subscriber_queue_size)
        self._reason = reason
        self.published = 0

    def publish(self, event: Event) -> None:
        self.published += 1
        self._hub.deliver(event)

    async def subscribe(self, topics: Iterable[str] = ()) -> Subscription:
        return self._hub.subscribe(topics)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return True

    def close(self, timeout: float | None = 10.0) -> None:
        return None

    def health(self) -> EventsHealth:
        return EventsHealth(
            "memory", True, self._reason, self.published, details={"subscribers": len(self._hub)}
        )


_memory_bus: MemoryEventBus | None = None
_memory_lock = threading.Lock()


def memory_bus() -> MemoryEventBus:
    """This process's shared in-process bus (publishers and subscribers meet here)."""
    global _memory_bus
    with _memory_lock:
        if _memory_bus is None:
            _memory_bus = MemoryEventBus()
        return _memory_bus


_STOP = object()


class BackgroundSender:
    """A thread with its own event loop that sends events one at a time, in order.

    ``submit`` takes a slot of a bounded queue (blocking, with a log line, while the
    queue is full) and returns; ``send`` failures are logged and counted.
    """

    def __init__(
        self,
        name: str,
        send: Callable[[Event], Awaitable[None]],
        queue_size: int = 10_000,
        block_warn_s: float = 0.05,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self._send = send
        self._on_close = on_close
        self._block_warn_s = block_warn_s
        self._slots = threading.Semaphore(queue_size)
        self._cond = threading.Condition()
        self._pending = 0
        self._closed = False
        self.sent = 0
        self.failed = 0
        self.blocked = 0
        self.last_error: str | None = None
        self._loop = asyncio.new_event_loop()
        self._queue: asyncio.Queue[Any] | None = None
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name=f"sigmax-events-{name}", daemon=True
        )
        self._thread.start()
        started.wait()

    @property
    def pending(self) -> int:
        return self._pending

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._queue = asyncio.Queue()
        started.set()
        try:
            self._loop.run_until_complete(self._drain())
        finally:
            self._loop.close()

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            if item is _STOP:
                break
            try:
                await self._send(item)
                self.sent += 1
            except Exception as exc:
                self.failed += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                _log.error(
                    "event not published",
                    publisher=self.name,
                    event_id=item.id,
                    topic=item.topic,
                    error=self.last_error,
                )
            finally:
                self._slots.release()
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()
        if self._on_close is not None:
            try:
                await self._on_close()
            except Exception as exc:  # closing a broken connection must not hang close()
                _log.warning("event publisher close failed", publisher=self.name, error=str(exc))

    def submit(self, event: Event) -> None:
        if self._closed:
            raise PublisherClosed(f"event publisher {self.name} is closed")
        if not self._slots.acquire(timeout=self._block_warn_s):
            self.blocked += 1
            started = time.monotonic()
            _log.warning("event queue full, publish blocks", publisher=self.name)
            self._slots.acquire()
            _log.info(
                "event queue has room again",
                publisher=self.name,
                waited_s=round(time.monotonic() - started, 3),
            )
        with self._cond:
            self._pending += 1
        assert self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every submitted event was sent (or failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued (up to ``timeout`` s), then stop the thread."""
        if self._closed:
            return
        self._closed = True
        if not self.flush(timeout):
            _log.error(
                "event publisher closed with events unsent",
                publisher=self.name,
                pending=self._pending,
            )
        assert self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, _STOP)
        self._thread.join(timeout)


class LazySender:
    """A :class:`BackgroundSender` started on first use, restartable after ``close``,
    with counters that survive restarts."""

    def __init__(
        self,
        name: str,
        send: Callable[[Event], Awaitable[None]],
        queue_size: int,
        block_warn_s: float,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._args = (name, send, queue_size, block_warn_s, on_close)
        self._sender: BackgroundSender | None = None
        self._lock = threading.Lock()
        self._sent_before = 0
        self._failed_before = 0

    def submit(self, event: Event) -> None:
        with self._lock:
            if self._sender is None:
                self._sender = BackgroundSender(*self._args)
            sender = self._sender
        sender.submit(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        sender = self._sender
        return sender.flush(timeout) if sender is not None else True

    def close(self, timeout: float | None = 10.0) -> None:
        with self._lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            sender.close(timeout)
            self._sent_before += sender.sent
            self._failed_before += sender.failed

    @property
    def sent(self) -> int:
        return self._sent_before + (self._sender.sent if self._sender else 0)

    @property
    def failed(self) -> int:
        return self._failed_before + (self._sender.failed if self._sender else 0)

    @property
    def pending(self) -> int:
        return self._sender.pending if self._sender else 0


class FanOutPublisher:
    """Publishes every event to each of its publishers (e.g. Redis and NATS)."""

    def __init__(self, *publishers: EventPublisher) -> None:
        if not publishers:
            raise ValueError("FanOutPublisher needs at least one publisher")
        self.publishers = publishers

    def publish(self, event: Event) -> None:
        for publisher in self.publishers:
            publisher.publish(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return all([p.flush(timeout) for p in self.publishers])

    def close(self, timeout: float | None = 10.0) -> None:
        for publisher in self.publishers:
            publisher.close(timeout)

    def health(self) -> EventsHealth:
        parts = [p.health() for p in self.publishers]
        reasons = [f"{h.backend}: {h.reason}" for h in parts if h.reason]
        return EventsHealth(
            "+".join(h.backend for h in parts),
            any(h.fallback_active for h in parts),
            "; ".join(reasons) or None,
            sum(h.published for h in parts),
            sum(h.failed for h in parts),
            sum(h.pending for h in parts),
            {"parts": [h.to_dict() for h in parts]},
        )
