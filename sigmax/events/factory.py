"""Buses built from configuration: Redis when configured, else in-process; NATS when set."""

from __future__ import annotations

from sigmax.events.bus import EventPublisher, EventSubscriber, FanOutPublisher, memory_bus
from sigmax.events.config import EventsConfig
from sigmax.storage.redis_config import RedisConfig


def build_subscriber(events: EventsConfig, redis: RedisConfig) -> EventSubscriber:
    """Redis pub/sub when ``redis`` has a URL, else this process's memory bus."""
    if redis.url is None:
        return memory_bus()
    from sigmax.events.redis_bus import RedisEventBus

    return RedisEventBus(events, redis)


def build_publisher(events: EventsConfig, redis: RedisConfig) -> EventPublisher:
    """Redis (or the memory bus without it), plus NATS JetStream when ``events`` has a
    NATS URL. Close it when done: that sends what is still queued."""
    base: EventPublisher
    if redis.url is None:
        base = memory_bus()
    else:
        from sigmax.events.redis_bus import RedisEventBus

        base = RedisEventBus(events, redis)
    if not events.nats_url:
        return base
    from sigmax.events.nats_bus import NatsEventPublisher

    return FanOutPublisher(base, NatsEventPublisher(events))
