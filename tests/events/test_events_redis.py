"""Redis pub/sub fan-out: every replica's subscriber sees every event, filtered by topic;
without a reachable Redis the bus falls back to this process and says so."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis_async

from sigmax.events import (
    Event,
    EventsConfig,
    MemoryEventBus,
    Subscription,
    build_publisher,
    build_subscriber,
    make_event,
)
from sigmax.events.bus import MEMORY_ONLY
from sigmax.events.redis_bus import RedisEventBus
from sigmax.storage.redis_config import RedisConfig

GUARD_S = 30.0  # hang guard for a lost event; never reached when the code works


async def _collect(sub: Subscription, until: Event) -> list[Event]:
    """Events of ``sub`` up to and including ``until`` (published last)."""
    got: list[Event] = []
    while not got or got[-1].id != until.id:
        got.append(await sub.get(timeout=GUARD_S))
    return got


def _mixed(n: int) -> list[Event]:
    topics = ("decisions", "orders", "fills", "risk", "proposals", "status")
    return [make_event(topics[i % len(topics)], "s1", {"i": i}) for i in range(n)]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_two_replicas_each_receive_every_event(
    redis_config: RedisConfig, events_config: EventsConfig
) -> None:
    replica_a = RedisEventBus(events_config, redis_config)
    replica_b = RedisEventBus(events_config, redis_config)
    publisher = RedisEventBus(events_config, redis_config)
    topics = ["decisions", "orders", "fills", "risk", "proposals", "status"]
    sub_a = await replica_a.subscribe(topics)
    sub_b = await replica_b.subscribe(topics)
    events = _mixed(60)
    try:
        for event in events:
            publisher.publish(event)
        assert await asyncio.to_thread(publisher.flush, GUARD_S)
        got_a = await _collect(sub_a, events[-1])
        got_b = await _collect(sub_b, events[-1])
        health = replica_a.health()
    finally:
        publisher.close()
        sub_a.close()
        sub_b.close()
        await replica_a.aclose()
        await replica_b.aclose()
    assert got_a == events  # every event, once, in publication order
    assert got_b == events
    assert health.status == "ok" and health.details["received"] == 60
    assert publisher.health().published == 60 and publisher.health().fallback_active is False


@pytest.mark.asyncio
async def test_subscribers_get_only_their_topics_and_can_change_them(
    redis_config: RedisConfig, events_config: EventsConfig
) -> None:
    bus = RedisEventBus(events_config, redis_config)
    fills_only = await bus.subscribe(["fills"])
    orders_risk = await bus.subscribe(["orders", "risk"])
    events = _mixed(30)
    end_fills = make_event("fills", "s1", {"end": True})
    end_orders = make_event("orders", "s1", {"end": True})
    try:
        for event in [*events, end_fills, end_orders]:
            await bus.send(event)  # the publishing thread's coroutine, awaited here
        got_fills = await _collect(fills_only, end_fills)
        got_orders = await _collect(orders_risk, end_orders)

        fills_only.add(["risk"])
        orders_risk.remove(["orders", "risk"])
        orders_risk.add(["status"])
        later = [make_event("risk", "s1", {"n": 1}), make_event("orders", "s1", {"n": 2})]
        end_status = make_event("status", "s1", {"end": True})
        for event in [*later, end_fills, end_status]:
            await bus.send(event)
        got_fills_2 = await _collect(fills_only, end_fills)
        got_orders_2 = await _collect(orders_risk, end_status)
    finally:
        fills_only.close()
        orders_risk.close()
        await bus.aclose()
    assert got_fills == [e for e in events if e.topic == "fills"] + [end_fills]
    assert got_orders == [e for e in events if e.topic in ("orders", "risk")] + [end_orders]
    assert got_fills_2 == [later[0], end_fills]
    assert got_orders_2 == [end_status]
    with pytest.raises(ValueError, match="unknown topic"):
        await bus.subscribe(["trades"])


@pytest.mark.asyncio
async def test_malformed_messages_on_the_channel_are_skipped(
    redis_config: RedisConfig, events_config: EventsConfig
) -> None:
    bus = RedisEventBus(events_config, redis_config)
    sub = await bus.subscribe(["fills"])
    good = make_event("fills", "s1", {"ok": True})
    client = redis_async.Redis.from_url(str(redis_config.url))
    try:
        await client.publish(bus.channel("fills"), b"{not json")
        await client.publish(bus.channel("fills"), b'{"topic": "fills"}')
        await bus.send(good)
        first = await sub.get(timeout=GUARD_S)
    finally:
        await client.aclose()
        sub.close()
        await bus.aclose()
    assert first == good


@pytest.mark.asyncio
async def test_unreachable_redis_falls_back_to_this_process_and_says_so(
    events_config: EventsConfig,
) -> None:
    dead = RedisConfig(url="redis://127.0.0.1:1/0", retry_redis_after_s=60, connect_timeout_s=0.5)
    bus = RedisEventBus(events_config, dead)
    sub = await bus.subscribe(["fills"])
    event = make_event("fills", "s1", {"qty": "1"})
    try:
        bus.publish(event)
        assert await asyncio.to_thread(bus.flush, GUARD_S)
        got = await sub.get(timeout=GUARD_S)
        health = bus.health()
    finally:
        bus.close()
        sub.close()
        await bus.aclose()
    assert got == event  # delivered in-process
    assert health.fallback_active and health.status == "degraded"
    assert health.reason is not None and "unreachable" in health.reason
    assert "this process" in health.reason
    assert health.details["fallback_deliveries"] == 1
    assert health.failed == 0  # nothing lost


@pytest.mark.asyncio
async def test_without_redis_the_memory_bus_is_used_and_health_says_so(
    events_config: EventsConfig,
) -> None:
    no_redis = RedisConfig(url=None)
    subscriber = build_subscriber(events_config, no_redis)
    publisher = build_publisher(events_config, no_redis)
    assert isinstance(subscriber, MemoryEventBus) and publisher is subscriber
    sub = await subscriber.subscribe(["orders"])
    event = make_event("orders", "s-mem", {"client_order_id": "x"})
    publisher.publish(make_event("fills", "s-mem", {}))  # not subscribed
    publisher.publish(event)
    try:
        assert await sub.get(timeout=GUARD_S) == event
    finally:
        sub.close()
    health = subscriber.health()
    assert health.fallback_active and health.reason == MEMORY_ONLY
