"""NATS JetStream: events are stored once each (the event id de-duplicates re-sends),
in a stream the publisher creates, and a durable consumer reads them back."""

from __future__ import annotations

import asyncio

import nats.js
import pytest
from nats.js.api import ConsumerConfig

from sigmax.events import Event, EventsConfig, FanOutPublisher, make_event
from sigmax.events.nats_bus import MSG_ID_HEADER, NatsEventPublisher
from sigmax.events.redis_bus import RedisEventBus
from sigmax.storage.redis_config import RedisConfig

GUARD_S = 30.0


@pytest.mark.asyncio
async def test_resent_event_is_stored_once_and_read_back_with_its_id(
    nats_events_config: EventsConfig, jetstream: nats.js.JetStreamContext
) -> None:
    config = nats_events_config
    publisher = NatsEventPublisher(config)
    events = [
        make_event("fills", "s1", {"qty": "0.5"}),
        make_event("orders", "s1", {"client_order_id": "o-1"}),
        make_event("risk", "s1", {"state": "paused"}),
    ]
    try:
        for event in [events[0], events[1], events[1], events[2]]:  # events[1] sent twice
            publisher.publish(event)
        assert await asyncio.to_thread(publisher.flush, GUARD_S)
        health = publisher.health()
    finally:
        await asyncio.to_thread(publisher.close)
    assert health.published == 4 and health.failed == 0
    assert health.details["duplicates"] == 1

    info = await jetstream.stream_info(config.nats_stream)
    assert info.state.messages == 3
    assert info.config.subjects == [f"{config.nats_subject_prefix}.>"]
    assert info.config.duplicate_window == config.nats_duplicate_window_s

    consumer = await jetstream.pull_subscribe(
        f"{config.nats_subject_prefix}.>",
        durable="test-reader",
        stream=config.nats_stream,
        config=ConsumerConfig(ack_wait=GUARD_S),
    )
    messages = await consumer.fetch(3, timeout=GUARD_S)
    for message in messages:
        await message.ack()
    received = [Event.from_json(m.data) for m in messages]
    assert received == events
    assert [m.headers[MSG_ID_HEADER] for m in messages if m.headers] == [e.id for e in events]
    assert [m.subject for m in messages] == [
        f"{config.nats_subject_prefix}.{e.topic}" for e in events
    ]
    # the durable consumer remembers its place: nothing is delivered twice
    with pytest.raises(nats.errors.TimeoutError):
        await consumer.fetch(1, timeout=0.5)
    consumer_info = await jetstream.consumer_info(config.nats_stream, "test-reader")
    assert consumer_info.num_pending == 0 and consumer_info.num_ack_pending == 0


@pytest.mark.asyncio
async def test_fan_out_sends_each_event_to_redis_and_nats(
    nats_events_config: EventsConfig,
    redis_config: RedisConfig,
    jetstream: nats.js.JetStreamContext,
) -> None:
    config = nats_events_config
    replica = RedisEventBus(config, redis_config)
    sub = await replica.subscribe(["fills"])
    publisher = FanOutPublisher(RedisEventBus(config, redis_config), NatsEventPublisher(config))
    event = make_event("fills", "s1", {"fill_id": "f-1"})
    try:
        publisher.publish(event)
        assert await asyncio.to_thread(publisher.flush, GUARD_S)
        got = await sub.get(timeout=GUARD_S)
        health = publisher.health()
    finally:
        await asyncio.to_thread(publisher.close)
        sub.close()
        await replica.aclose()
    assert got == event
    assert health.backend == "redis+nats" and health.status == "ok"
    assert health.published == 2
    stored = await jetstream.get_last_msg(config.nats_stream, f"{config.nats_subject_prefix}.fills")
    assert stored.data is not None and Event.from_json(stored.data) == event


@pytest.mark.asyncio
async def test_unreachable_nats_fails_clearly_and_says_so_in_health(
    events_config: EventsConfig,
) -> None:
    config = events_config.model_copy(
        update={"nats_url": "nats://127.0.0.1:1", "nats_publish_retries": 2}
    )
    publisher = NatsEventPublisher(config)
    try:
        publisher.publish(make_event("fills", "s1", {}))
        publisher.publish(make_event("fills", "s1", {}))
        assert await asyncio.to_thread(publisher.flush, GUARD_S)
        health = publisher.health()
    finally:
        await asyncio.to_thread(publisher.close)
    assert health.failed == 2 and health.published == 0
    assert health.status == "degraded" and health.details["down"] is True
    assert health.details["retries"] == 2  # the first event retried; the second, once down, not
    assert health.reason is not None
