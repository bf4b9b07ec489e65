"""The live-events WebSocket through FastAPI's TestClient, fed by Redis pub/sub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from serve_app._private.ws import websocket_router
from sigmax.events import TOPICS, EventsConfig, make_event
from sigmax.events.redis_bus import RedisEventBus
from sigmax.storage.redis_config import RedisConfig

GOOD_KEY = "sk-test-good"


class KeyCheckDouble:
    """Test double of the API's authenticate(key): one known key; the real check (hashed
    keys in PostgreSQL) belongs to the API's auth module."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, key: str) -> Any:
        self.seen.append(key)
        if key == "sk-test-broken":
            raise RuntimeError("key store down")
        return {"key": "test"} if key == GOOD_KEY else None


@pytest.fixture
def buses(
    redis_config: RedisConfig, events_config: EventsConfig
) -> Iterator[tuple[RedisEventBus, RedisEventBus]]:
    """(the API replica's subscriber bus, the trading side's publisher bus)."""
    api_bus = RedisEventBus(events_config, redis_config)
    publisher = RedisEventBus(events_config, redis_config)
    yield api_bus, publisher
    publisher.close()


@pytest.fixture
def client(buses: tuple[RedisEventBus, RedisEventBus]) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(
        websocket_router(KeyCheckDouble(), subscriber=buses[0], ping_interval_s=30),
        prefix="/api/v1",
    )
    with TestClient(app) as test_client:
        yield test_client


def _connect(client: TestClient, **kwargs: Any) -> Any:
    return client.websocket_connect("/api/v1/ws", **kwargs)


def _subscribe(ws: WebSocketTestSession, *topics: str) -> list[str]:
    ws.send_json({"action": "subscribe", "topics": list(topics)})
    reply = ws.receive_json()
    assert reply["type"] == "subscribed", reply
    return list(reply["topics"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"headers": {"Authorization": "Bearer sk-wrong"}},
        {"headers": {"Authorization": "Basic c2stdGVzdC1nb29k"}},
        {"params": {"token": "sk-wrong"}},
    ],
    ids=["no-key", "bad-bearer", "not-bearer", "bad-token-param"],
)
def test_missing_or_bad_key_is_closed_with_4401(client: TestClient, kwargs: dict) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, _connect(client, **kwargs) as ws:
        ws.receive_json()
    assert closed.value.code == 4401


def test_a_broken_key_check_closes_with_1011_not_4401(client: TestClient) -> None:
    headers = {"Authorization": "Bearer sk-test-broken"}
    with pytest.raises(WebSocketDisconnect) as closed, _connect(client, headers=headers) as ws:
        ws.receive_json()
    assert closed.value.code == 1011


def test_subscribed_client_receives_a_fill_published_on_the_bus(
    client: TestClient, buses: tuple[RedisEventBus, RedisEventBus]
) -> None:
    publisher = buses[1]
    fill = make_event("fills", "s-ws", {"fill_id": "f-1", "qty": "0.25", "price": "61000.5"})
    order = make_event("orders", "s-ws", {"client_order_id": "o-1"})
    with _connect(client, headers={"Authorization": f"Bearer {GOOD_KEY}"}) as ws:
        welcome = ws.receive_json()
        assert welcome == {"type": "welcome", "topics": list(TOPICS), "subscribed": []}
        assert _subscribe(ws, "fills") == ["fills"]
        publisher.publish(order)  # not subscribed: must not arrive
        publisher.publish(fill)
        assert publisher.flush(10)
        message = ws.receive_json()
    assert message == {
        "type": "event",
        "id": fill.id,
        "topic": "fills",
        "ts": fill.model_dump(mode="json")["ts"],
        "session_id": "s-ws",
        "data": {"fill_id": "f-1", "qty": "0.25", "price": "61000.5"},
    }


def test_token_query_param_topics_param_and_unsubscribe(
    client: TestClient, buses: tuple[RedisEventBus, RedisEventBus]
) -> None:
    publisher = buses[1]
    with _connect(client, params={"token": GOOD_KEY, "topics": "fills,orders"}) as ws:
        assert ws.receive_json()["subscribed"] == ["fills", "orders"]
        ws.send_json({"action": "unsubscribe", "topics": ["fills"]})
        assert ws.receive_json() == {"type": "subscribed", "topics": ["orders"]}
        late_fill = make_event("fills", "s-ws", {"n": 1})
        order = make_event("orders", "s-ws", {"n": 2})
        publisher.publish(late_fill)
        publisher.publish(order)
        assert publisher.flush(10)
        assert ws.receive_json()["id"] == order.id  # the fill was not sent


def test_bad_messages_get_errors_and_the_socket_stays_open(client: TestClient) -> None:
    with _connect(client, headers={"Authorization": f"Bearer {GOOD_KEY}"}) as ws:
        ws.receive_json()
        for raw, expected in [
            ("not json", "not JSON"),
            ("[1, 2]", "expected a JSON object"),
            ('{"action": "dance"}', "unknown action 'dance'"),
            ('{"action": "subscribe", "topics": "fills"}', "must be a list"),
            ('{"action": "subscribe", "topics": ["fills", "trades"]}', "unknown topic(s)"),
        ]:
            ws.send_text(raw)
            reply = ws.receive_json()
            assert reply["type"] == "error" and expected in reply["message"], (raw, reply)
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        assert _subscribe(ws, "risk") == ["risk"]  # the rejected "fills" was not added


def test_unknown_topic_in_query_is_refused(client: TestClient) -> None:
    params = {"token": GOOD_KEY, "topics": "trades"}
    with pytest.raises(WebSocketDisconnect) as closed, _connect(client, params=params) as ws:
        ws.receive_json()
    assert closed.value.code == 1008


def test_server_pings_an_idle_client(buses: tuple[RedisEventBus, RedisEventBus]) -> None:
    app = FastAPI()
    app.include_router(websocket_router(KeyCheckDouble(), buses[0], ping_interval_s=0.05))
    with (
        TestClient(app) as test_client,
        test_client.websocket_connect("/ws", params={"token": GOOD_KEY}) as ws,
    ):
        assert ws.receive_json()["type"] == "welcome"
        assert ws.receive_json() == {"type": "ping"}
