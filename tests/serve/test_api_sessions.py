"""/api/v1/sessions: the API lists, reads and stops the session actors (issue 14, 5)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from actors.session import end_session, start_session
from actors.system import PaperRequest
from serve_app.api import create_app
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(ray_cluster: Any, api_settings: Settings) -> Iterator[PaperRequest]:
    request = PaperRequest(  # paced, so it is still running when listed and stopped
        start=6_050,
        bars=400,
        speed=5,
        session_id=f"api-{uuid.uuid4().hex[:8]}",
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    handle = start_session(api_settings, request)
    deadline = time.monotonic() + 120
    while ray_cluster.get(handle.status.remote())["bars"] < 1:
        assert time.monotonic() < deadline, "the session traded no bar"
        time.sleep(0.2)
    try:
        yield request
    finally:
        with contextlib.suppress(Exception):  # already stopped through the API
            end_session(handle)


@pytest.fixture(scope="module")
def http(session: PaperRequest, api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, unique_config())) as client:
        yield client


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_sessions_are_listed_read_and_stopped(
    http: TestClient, session: PaperRequest, make_key: KeyMaker
) -> None:
    reader = _auth(make_key(["read"], "sessions-reader"))
    trader = _auth(make_key(["trade"], "sessions-trader"))
    url = f"/api/v1/sessions/{session.session_id}"

    listed = http.get("/api/v1/sessions", headers=reader)
    assert listed.status_code == 200, listed.text
    assert session.session_id in [s["session_id"] for s in listed.json()]
    status = http.get(url, headers=reader).json()
    assert status["state"] == "running" and status["bars"] >= 1

    assert http.post(f"{url}/stop", headers=reader).status_code == 403
    stopped = http.post(f"{url}/stop", headers=trader)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "stopped"
    assert http.get(url, headers=reader).status_code == 503  # no longer running


def _start_body(session_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": session_id,
        "legs": [
            {"data": "bundled:ETH-USD-30m", "symbol": "ETH/USD"},
            {"data": "bundled:LTC-USD-30m", "symbol": "LTC/USD"},
        ],
        "timeframe": "1h",
        "start": 3_000,
        "bars": 40,
        "strategy": "sma_cross",
        "params": {"fast": "5", "slow": "20", "size": "0.1"},
    }
    return {**body, **changes}


def test_a_portfolio_session_is_started_over_the_api(
    http: TestClient, make_key: KeyMaker, ray_cluster: Any
) -> None:
    reader = _auth(make_key(["read"], "sessions-start-reader"))
    trader = _auth(make_key(["trade"], "sessions-start-trader"))
    sid = f"api-start-{uuid.uuid4().hex[:8]}"

    assert http.post("/api/v1/sessions", json=_start_body(sid), headers=reader).status_code == 403
    started = http.post("/api/v1/sessions", json=_start_body(sid), headers=trader)
    assert started.status_code == 201, started.text
    assert started.json()["session_id"] == sid
    again = http.post("/api/v1/sessions", json=_start_body(sid), headers=trader)
    deadline = time.monotonic() + 180
    while (status := http.get(f"/api/v1/sessions/{sid}", headers=reader).json())["state"] in (
        "starting",
        "running",
    ):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    try:
        assert again.status_code == 409 or status["state"] == "finished"
        assert status["state"] == "finished", status
        assert status["bars"] == 80  # 40 steps of two symbols
        assert status["weights"] == {"ETH/USD": 0.5, "LTC/USD": 0.5}  # equal shares
        assert status["error"] is None
        assert status["venue"]["kind"] == "paper" and not status["venue"]["live"]  # default
    finally:
        http.post(f"/api/v1/sessions/{sid}/stop", headers=trader)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {"legs": [{"data": "bundled:ETH-USD-30m", "symbol": "ETH/USD"}] * 2},
            "symbol given twice: ETH/USD",
        ),
        ({"legs": [{"data": "/etc/passwd", "symbol": "X/USD"}]}, "jobs submitted over the API"),
        ({"strategy": "os:path"}, "not module:ClassName"),
        ({"strategy": "no_such_strategy"}, "no_such_strategy"),
        ({"timeframe": "1m"}, "1m"),
        (
            {"legs": [{"data": "bundled:ETH-USD-30m", "symbol": "ETH/USD"}], "reoptimise_every": 5},
            "two or more",
        ),
    ],
)
def test_a_session_start_with_bad_input_is_refused(
    http: TestClient, make_key: KeyMaker, changes: dict[str, Any], words: str
) -> None:
    trader = _auth(make_key(["trade"], "sessions-bad-trader"))
    body = _start_body(f"api-bad-{uuid.uuid4().hex[:8]}", **changes)
    refused = http.post("/api/v1/sessions", json=body, headers=trader)
    assert refused.status_code == 422, refused.text
    assert words in refused.text
