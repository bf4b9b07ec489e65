"""The API's WebSocket streams the live fills of a paper session running through the
actors: real API key, real Redis pub/sub between the session and the API."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from actors.system import PaperRequest, run_paper, start_system
from serve_app._private import events as api_events
from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.events import EventsConfig
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow


def test_websocket_receives_live_fills_of_a_paper_session(
    ray_cluster: Any, api_settings: Settings, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"sigmax:test:{uuid.uuid4().hex}:events"
    monkeypatch.setenv("SIGMAX_REDIS_URL", str(api_settings.redis.url))
    monkeypatch.setenv("SIGMAX_EVENTS_REDIS_CHANNEL_PREFIX", prefix)
    monkeypatch.setattr(api_events, "_bus", None)  # this test's channels, not another's
    key = make_key(["read"], "ws-reader")
    sid = f"ws-{uuid.uuid4().hex[:8]}"
    # sma_cross 2/5 trades about every 5th bar here (4 actor processes, not the graph's 10)
    request = PaperRequest(
        start=7_150,
        bars=30,
        session_id=sid,
        persist=False,
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    reports: list[Any] = []

    app = create_app(api_settings, unique_config(session_id=sid))
    with TestClient(app) as http, http.websocket_connect(f"/api/v1/ws?token={key}") as ws:
        assert ws.receive_json()["type"] == "welcome"
        ws.send_json({"action": "subscribe", "topics": ["fills", "status"]})
        assert ws.receive_json()["type"] == "subscribed"
        # the session publishes where the API subscribes: the events section read now,
        # with this test's channel prefix
        system = start_system(api_settings.model_copy(update={"events": EventsConfig()}), request)

        def trade() -> None:
            try:
                reports.extend(run_paper(system, request))
            finally:
                system.shutdown()  # flushes the event queue to Redis

        session = threading.Thread(target=trade)
        session.start()
        fills, statuses = [], []
        while "finished" not in statuses:
            message = ws.receive_json()
            if message["type"] == "ping":  # the server's keep-alive while nothing happens
                continue
            assert message["type"] == "event" and message["session_id"] == sid
            if message["topic"] == "fills":
                fills.append(message)
            else:
                statuses.append(message["data"]["status"])
        session.join(timeout=120)

    expected = [f.fill_id for r in reports for f in r.fills]
    assert len(expected) > 0, "the session made no fill: the test would prove nothing"
    assert [m["data"]["fill_id"] for m in fills] == expected
    assert len({m["id"] for m in fills}) == len(fills)  # every event id unique
    assert statuses[0] == "started"
