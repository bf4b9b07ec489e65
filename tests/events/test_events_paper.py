"""End to end: a paper session through the Ray actors publishes to Redis, and a
subscriber (an API replica) receives a decision for every bar and every fill."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.events import TOPICS, Event, EventsConfig, Subscription
from sigmax.events.redis_bus import RedisEventBus
from sigmax.storage.redis_config import RedisConfig

GUARD_S = 120.0  # hang guard only


async def _until_finished(sub: Subscription, session_id: str) -> list[Event]:
    events: list[Event] = []
    while True:
        event = await sub.get(timeout=GUARD_S)
        events.append(event)
        if event.topic == "status" and event.data["status"] in ("finished", "failed"):
            return events


@pytest.mark.slow
@pytest.mark.asyncio
async def test_paper_session_events_reach_a_redis_subscriber(
    ray_cluster: object, redis_config: RedisConfig, events_config: EventsConfig
) -> None:
    session_id = f"events-e2e-{uuid.uuid4().hex[:8]}"
    request = PaperRequest(start=6_050, bars=80, session_id=session_id, persist=False)
    replica = RedisEventBus(events_config, redis_config)
    sub = await replica.subscribe(TOPICS)
    publisher = RedisEventBus(events_config, redis_config)
    settings = Settings()  # deciding every bar: each bar's decision carries every signal
    settings = settings.model_copy(
        update={"graph": settings.graph.model_copy(update={"cadence": None})}
    )
    system = start_system(settings, request, publisher=publisher)

    def trade() -> list:
        try:
            return run_paper(system, request)
        finally:
            system.shutdown()
            publisher.close()

    try:
        collecting = asyncio.create_task(_until_finished(sub, session_id))
        reports = await asyncio.to_thread(trade)
        events = await collecting
    finally:
        sub.close()
        await replica.aclose()

    assert len(reports) == 80
    assert {e.session_id for e in events} == {session_id}
    assert len({e.id for e in events}) == len(events)
    assert events[0].topic == "status" and events[0].data["status"] == "started"
    assert events[-1].data == {"status": "finished", "symbol": "BTC/USD", "bars": 80}

    decisions = [e.data for e in events if e.topic == "decisions"]
    assert [d["ts"] for d in decisions] == [r.decision.ts.isoformat() for r in reports]
    assert [d["target_position"] for d in decisions] == [
        r.decision.target_position for r in reports
    ]
    assert all(len(d["signals"]) == 5 for d in decisions)  # type: ignore[arg-type]

    fills = [f for r in reports for f in r.fills]
    assert fills, "the session should trade on these bars"
    fill_events = [e.data for e in events if e.topic == "fills"]
    assert [(d["fill_id"], d["qty"], d["price"], d["fee"]) for d in fill_events] == [
        (f.fill_id, str(f.qty), str(f.price), str(f.fee)) for f in fills
    ]
    order_ids = [r.order.client_order_id for r in reports if r.order is not None]
    assert [e.data["client_order_id"] for e in events if e.topic == "orders"] == order_ids
    # not left behind: the publishing thread sent everything, in-process fallback unused
    health = publisher.health()
    assert health.failed == 0 and health.details["fallback_deliveries"] == 0
