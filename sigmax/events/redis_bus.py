"""Live events over Redis pub/sub: every process that subscribes sees every event.

Publishing goes through the shared Redis pool of the publisher's background thread
and a :class:`~sigmax.storage.redis_store.RedisGuard`: while Redis does not answer,
events are delivered to this process's own subscribers only (and ``health()`` says
so), and Redis is tried again every ``retry_redis_after_s``.

Subscribing: each process (each API replica) holds one dedicated pub/sub connection
per event loop, subscribed to all topics, and fans the events out to its local
subscriptions. That connection is not taken from the shared pool: it is held for
the life of the process, which the pool's leak detection would rightly report.

Redis pub/sub delivers at most once: events published while a subscriber's
connection is down are not replayed to it (the NATS JetStream stream is the
durable record).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis

from sigmax.events.bus import EventsHealth, LazySender, LocalHub, Subscription
from sigmax.events.config import EventsConfig
from sigmax.events.model import TOPICS, Event
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.redis_store import UNAVAILABLE_ERRORS, RedisGuard, Unavailable, close_redis

_log = structlog.get_logger(__name__)

FALLBACK = "in-process event delivery (this process only)"


@dataclass
class _Listener:
    """The pub/sub connection of one event loop and what it last saw."""

    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    degraded_reason: str | None = None
    received: int = 0


class RedisEventBus:
    """Publisher and subscriber on Redis channels ``<redis_channel_prefix>:<topic>``.

    ``redis`` must have a URL (use :class:`~sigmax.events.bus.MemoryEventBus` without).
    """

    def __init__(self, events: EventsConfig, redis: RedisConfig):
        self.events = events
        self.redis = redis
        if self.redis.url is None:
            raise ValueError("RedisEventBus needs a Redis URL (SIGMAX_REDIS_URL)")
        self._guard = RedisGuard("events", FALLBACK, self.redis)
        self._hub = LocalHub(self.events.subscriber_queue_size)
        self._sender = LazySender(
            "redis",
            self.send,
            self.events.queue_size,
            self.events.block_warn_s,
            on_close=close_redis,
        )
        self._listeners: dict[asyncio.AbstractEventLoop, _Listener] = {}
        self._listeners_lock = threading.Lock()
        self.fallback_deliveries = 0

    def channel(self, topic: str) -> str:
        return f"{self.events.redis_channel_prefix}:{topic}"

    # -- publishing ----------------------------------------------------------------

    def publish(self, event: Event) -> None:
        self._sender.submit(event)

    async def send(self, event: Event) -> None:
        """Publish now (in the caller's loop); local delivery while Redis is away."""
        channel, raw = self.channel(event.topic), event.to_json()
        result = await self._guard.run(lambda client: client.publish(channel, raw))
        if isinstance(result, Unavailable):
            self.fallback_deliveries += 1
            self._hub.deliver(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return self._sender.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued and stop the publishing thread (subscriptions stay;
        a later ``publish`` starts a new thread)."""
        self._sender.close(timeout)

    # -- subscribing ---------------------------------------------------------------

    async def subscribe(self, topics: Iterable[str] = ()) -> Subscription:
        """A subscription that gets every event published (by any process) from now on.

        The first call in an event loop connects and subscribes to Redis first; if
        Redis does not answer, the subscription still gets this process's events.
        """
        listener = self._listener()
        await listener.ready.wait()
        return self._hub.subscribe(topics)

    def _listener(self) -> _Listener:
        loop = asyncio.get_running_loop()
        with self._listeners_lock:
            for other in [lp for lp in self._listeners if lp.is_closed()]:
                del self._listeners[other]
            listener = self._listeners.get(loop)
            if listener is None:
                listener = _Listener()
                listener.task = loop.create_task(self._listen(listener), name="sigmax-events-redis")
                self._listeners[loop] = listener
        return listener

    async def _listen(self, listener: _Listener) -> None:
        channels = [self.channel(t) for t in TOPICS]
        retry_s = max(0.05, self.redis.retry_redis_after_s)
        while True:
            client = Redis.from_url(
                str(self.redis.url),
                socket_connect_timeout=self.redis.connect_timeout_s,
                socket_timeout=None,  # get_message(timeout=...) bounds each wait
                health_check_interval=self.redis.health_check_interval_s,
            )
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(*channels)
                confirmed = 0
                while confirmed < len(channels):  # the server has registered us
                    message = await pubsub.get_message(timeout=self.redis.socket_timeout_s * 5)
                    if message is None:
                        raise TimeoutError("redis did not confirm the subscription")
                    if message["type"] == "subscribe":
                        confirmed += 1
                self._listener_ok(listener)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._on_message(listener, message["data"])
            except UNAVAILABLE_ERRORS as exc:
                self._listener_down(listener, exc)
                await asyncio.sleep(retry_s)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis ships no annotations here
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _listener_ok(self, listener: _Listener) -> None:
        if listener.degraded_reason is not None:
            _log.info("redis back, events from every process again")
        listener.degraded_reason = None
        listener.ready.set()

    def _listener_down(self, listener: _Listener, exc: BaseException) -> None:
        if listener.degraded_reason is None:
            _log.warning(
                "redis unavailable, events from this process only",
                error=f"{type(exc).__name__}: {exc}",
            )
        listener.degraded_reason = "redis unreachable: subscribers get this process's events only"
        listener.ready.set()

    def _on_message(self, listener: _Listener, raw: bytes | str) -> None:
        try:
            event = Event.from_json(raw)
        except ValidationError as exc:
            _log.warning("ignoring a malformed event on redis", error=str(exc)[:300])
            return
        listener.received += 1
        self._hub.deliver(event)

    async def aclose(self) -> None:
        """Stop this loop's pub/sub connection and end its subscriptions' feed."""
        loop = asyncio.get_running_loop()
        with self._listeners_lock:
            listener = self._listeners.pop(loop, None)
        if listener is not None and listener.task is not None:
            listener.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener.task

    # -- health --------------------------------------------------------------------

    def health(self) -> EventsHealth:
        publishing = self._guard.degraded_reason
        listening = sorted(
            {lst.degraded_reason for lst in self._listeners.values() if lst.degraded_reason}
        )
        reasons = ([publishing] if publishing else []) + listening
        sender = self._sender
        return EventsHealth(
            "redis",
            bool(reasons),
            "; ".join(reasons) or None,
            sender.sent,
            sender.failed,
            sender.pending,
            {
                "subscribers": len(self._hub),
                "fallback_deliveries": self.fallback_deliveries,
                "received": sum(lst.received for lst in self._listeners.values()),
            },
        )
