"""The publishing thread drops nothing (a full queue blocks publish); a subscriber
that falls too far behind is cut off, not silently skipped."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sigmax.events import Event, MemoryEventBus, SubscriberOverflow, make_event
from sigmax.events.bus import BackgroundSender


def test_full_queue_blocks_publish_until_room_and_loses_nothing() -> None:
    gate = threading.Event()
    sent: list[Event] = []

    async def slow_send(event: Event) -> None:  # a sink that is stuck until the gate opens
        await asyncio.to_thread(gate.wait)
        sent.append(event)

    sender = BackgroundSender("test", slow_send, queue_size=2, block_warn_s=0.01)
    events = [make_event("fills", "s1", {"i": i}) for i in range(3)]
    sender.submit(events[0])
    sender.submit(events[1])
    third = threading.Thread(target=sender.submit, args=(events[2],))
    third.start()
    third.join(timeout=0.3)
    assert third.is_alive(), "publish should block while the queue is full"
    gate.set()
    third.join(timeout=30)
    assert not third.is_alive()
    assert sender.flush(30)
    sender.close()
    assert sent == events and sender.sent == 3 and sender.blocked == 1


def test_failed_sends_are_counted_and_the_thread_goes_on() -> None:
    async def flaky(event: Event) -> None:
        if event.data["i"] == 1:
            raise ConnectionError("sink down")

    sender = BackgroundSender("test", flaky, queue_size=10)
    for i in range(3):
        sender.submit(make_event("fills", "s1", {"i": i}))
    assert sender.flush(30)
    sender.close()
    assert (sender.sent, sender.failed) == (2, 1)
    assert sender.last_error == "ConnectionError: sink down"


@pytest.mark.asyncio
async def test_a_subscriber_too_far_behind_is_cut_off_after_its_buffer() -> None:
    bus = MemoryEventBus(subscriber_queue_size=3)
    slow = await bus.subscribe(["fills"])
    events = [make_event("fills", "s1", {"i": i}) for i in range(5)]
    for event in events:
        bus.publish(event)
    got = [await slow.get(timeout=30) for _ in range(3)]
    with pytest.raises(SubscriberOverflow, match="more than 3 events behind"):
        await slow.get(timeout=30)
    assert got == events[:3]
    assert bus.health().details["subscribers"] == 0


@pytest.mark.asyncio
async def test_closed_subscription_ends_iteration() -> None:
    bus = MemoryEventBus()
    sub = await bus.subscribe(["orders"])
    bus.publish(make_event("orders", "s1", {"n": 1}))
    await asyncio.sleep(0)  # let the delivery callback run
    sub.close()
    received = [event async for event in sub]
    assert [e.data for e in received] == [{"n": 1}]
