"""Read answers kept in the replica until the session's next event (over the process's
in-process bus here, standing in for Redis pub/sub: same subscription interface)."""

from __future__ import annotations

import asyncio

from serve_app._private.read_cache import TOPICS, SessionReads
from sigmax.events import make_event, memory_bus
from sigmax.events.bus import Subscription


class _Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


class _Actor:
    """What the session's actors would answer; counts the round trips."""

    def __init__(self) -> None:
        self.calls = 0
        self.value = "v1"

    async def load(self) -> str:
        self.calls += 1
        await asyncio.sleep(0)
        return self.value


async def _subscribe() -> Subscription:
    return await memory_bus().subscribe(TOPICS)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_answers_are_kept_until_an_event_of_the_session() -> None:
    async def go() -> None:
        clock, actor = _Clock(), _Actor()
        reads = SessionReads("s-cache", 60.0, _subscribe, lambda: True, clock)
        assert await reads.get("status", actor.load) == "v1"  # starts listening
        await _settle()
        assert reads.active
        assert await reads.get("status", actor.load) == "v1"
        calls = actor.calls
        for _ in range(20):
            assert await reads.get("status", actor.load) == "v1"
        assert actor.calls == calls  # from memory
        memory_bus().publish(make_event("decisions", "another-session", {"x": 1}))
        await _settle()
        assert await reads.get("status", actor.load) == "v1"
        assert actor.calls == calls  # another session's event changes nothing here
        actor.value = "v2"
        memory_bus().publish(make_event("fills", "s-cache", {"x": 1}))
        await _settle()
        assert await reads.get("status", actor.load) == "v2"
        assert actor.calls == calls + 1
        await reads.close()

    asyncio.run(go())


def test_nothing_is_kept_past_max_age_or_without_shared_events() -> None:
    async def go() -> None:
        clock, actor = _Clock(), _Actor()
        shared = {"yes": True}
        reads = SessionReads("s-age", 1.0, _subscribe, lambda: shared["yes"], clock)
        await reads.get("p", actor.load)
        await _settle()
        await reads.get("p", actor.load)
        kept = actor.calls
        assert await reads.get("p", actor.load) == "v1" and actor.calls == kept
        clock.now += 1.0
        await reads.get("p", actor.load)
        assert actor.calls == kept + 1  # too old
        shared["yes"] = False  # the bus fell back to in-process: events no longer arrive
        await reads.get("p", actor.load)
        await reads.get("p", actor.load)
        assert actor.calls == kept + 3
        await reads.close()

        no_bus = SessionReads("s-none", 60.0, None, lambda: True, clock)
        await no_bus.get("p", actor.load)
        await no_bus.get("p", actor.load)
        assert not no_bus.active and actor.calls == kept + 5

    asyncio.run(go())


def test_concurrent_requests_share_one_load_and_an_overtaken_load_is_not_kept() -> None:
    async def go() -> None:
        clock = _Clock()
        reads = SessionReads("s-flight", 60.0, _subscribe, lambda: True, clock)
        await reads.get("warm", _Actor().load)
        await _settle()
        gate = asyncio.Event()
        calls = 0

        async def slow() -> int:
            nonlocal calls
            calls += 1
            await gate.wait()
            return calls

        waiting = [asyncio.ensure_future(reads.get("s", slow)) for _ in range(50)]
        await _settle()
        memory_bus().publish(make_event("risk", "s-flight", {"state": "paused"}))
        await _settle()
        gate.set()
        assert [await w for w in waiting] == [1] * 50  # one actor round trip for all
        assert await reads.get("s", slow) == 2  # loaded before the event: not kept
        assert await reads.get("s", slow) == 2  # kept now
        await reads.close()

    asyncio.run(go())
