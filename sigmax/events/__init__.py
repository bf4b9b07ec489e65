"""Live events of the trading system: model, publishers and subscribers.

``from sigmax.events import Event, build_publisher`` is all a producer needs; the
Redis and NATS implementations live in :mod:`sigmax.events.redis_bus` and
:mod:`sigmax.events.nats_bus` (NATS is imported only when used).
"""

from sigmax.events.bus import (
    EventPublisher,
    EventsHealth,
    EventSubscriber,
    FanOutPublisher,
    MemoryEventBus,
    PublisherClosed,
    SubscriberOverflow,
    Subscription,
    check_topics,
    memory_bus,
)
from sigmax.events.config import EventsConfig
from sigmax.events.factory import build_publisher, build_subscriber
from sigmax.events.model import TOPIC_OF_KIND, TOPICS, Event, Topic, make_event

__all__ = [
    "TOPICS",
    "TOPIC_OF_KIND",
    "Event",
    "EventPublisher",
    "EventSubscriber",
    "EventsConfig",
    "EventsHealth",
    "FanOutPublisher",
    "MemoryEventBus",
    "PublisherClosed",
    "SubscriberOverflow",
    "Subscription",
    "Topic",
    "build_publisher",
    "build_subscriber",
    "check_topics",
    "make_event",
    "memory_bus",
]
