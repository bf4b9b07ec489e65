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
    request = PaperRequest(start=6_050, bars=400, speed=5, session_id=f"api-{uuid.uuid4().hex[:8]}")
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
