"""Read answers kept in the replica until the session's next event (over the process's
in-process bus here, standing in for Redis pub/sub: same subscription interface), or
a write through any replica (Redis pub/sub, through a real Backend)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi.testclient import TestClient

from serve_app._private.read_cache import SUBSCRIBED, TOPICS, SessionReads
from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.events import make_event, memory_bus
from tests.serve.conftest import KeyMaker, unique_config


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


async def _events() -> AsyncIterator[str]:
    subscription = await memory_bus().subscribe(TOPICS)
    try:
        yield SUBSCRIBED
        while True:
            yield (await subscription.get()).session_id
    finally:
        subscription.close()


async def _settle() -> None:
    """Let a published event reach the listener (a few loop turns)."""
    await asyncio.sleep(0.05)


def test_answers_are_kept_until_an_event_of_the_session() -> None:
    async def go() -> None:
        clock, actor = _Clock(), _Actor()
        reads = SessionReads("s-cache", 60.0, [_events], lambda: True, clock=clock)
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
        reads = SessionReads("s-age", 1.0, [_events], lambda: shared["yes"], clock=clock)
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

        no_bus = SessionReads("s-none", 60.0, [], lambda: True, clock=clock)
        await no_bus.get("p", actor.load)
        await no_bus.get("p", actor.load)
        assert not no_bus.active and actor.calls == kept + 5

    asyncio.run(go())


def test_concurrent_requests_share_one_load_and_an_overtaken_load_is_not_kept() -> None:
    async def go() -> None:
        clock = _Clock()
        reads = SessionReads("s-flight", 60.0, [_events], lambda: True, clock=clock)
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


def test_a_write_through_one_replica_drops_the_answers_kept_by_another(
    api_settings: Settings, make_key: KeyMaker
) -> None:
    """Two apps (two replicas' backends) on one Redis: a POST through the first
    announces a change the second hears."""
    config = unique_config(read_cache_s=60)
    with (
        TestClient(create_app(api_settings, config)) as one,
        TestClient(create_app(api_settings, config)) as two,
    ):
        key = {"Authorization": f"Bearer {make_key(['admin'], 'reads-writer')}"}
        reads = two.app.state.backend.reads  # type: ignore[attr-defined]
        reads._shared = lambda: True  # as with Redis events (the test bus is in-process)
        assert two.get("/api/v1/status", headers=key).status_code == 200
        deadline = time.monotonic() + 10
        while not reads.active:  # both subscriptions up
            assert time.monotonic() < deadline, "the read cache did not start listening"
            two.get("/api/v1/status", headers=key)
            time.sleep(0.05)
        two.get("/api/v1/status", headers=key)
        loads = reads.loads
        assert two.get("/api/v1/status", headers=key).status_code == 200
        assert reads.loads == loads  # kept
        assert one.post("/api/v1/keys", json={"name": "x", "scopes": ["read"]}, headers=key)
        deadline = time.monotonic() + 10
        while reads.loads == loads:  # the notice arrives: the next status loads again
            assert time.monotonic() < deadline, "the write was not heard by the other app"
            two.get("/api/v1/status", headers=key)
            time.sleep(0.05)
