"""A process that serves the API alone exempts its long-lived objects from garbage
collection (``create_app(freeze_gc=True)``: what a Serve replica builds); any other
process, a test run say, keeps the collector as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serve_app._private.gc_freeze import FREEZE_AGAIN_AFTER
from serve_app.api import create_app
from sigmax.config import Settings
from tests.serve.conftest import create_key, unique_config


@pytest.fixture
def thawed() -> Iterator[None]:
    """No frozen objects before the test, and none left frozen after it."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_dedicated_app_freezes_at_start_and_after_its_first_requests(
    api_settings: Settings, thawed: None
) -> None:
    key = create_key(api_settings, ["read"])
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(api_settings, unique_config(), freeze_gc=True)) as http:
        at_start = gc.get_freeze_count()
        assert at_start > 10_000  # the libraries' and the app's objects
        for _ in range(FREEZE_AGAIN_AFTER - 1):
            assert http.get("/api/v1/status", headers=headers).status_code == 200
        # not yet, while the stores warm up (frozen objects that die leave the count)
        assert gc.get_freeze_count() <= at_start
        http.get("/api/v1/status", headers=headers)
        after_warm_up = gc.get_freeze_count()
        assert after_warm_up > at_start  # now with the pools, caches, lazy imports
        for _ in range(FREEZE_AGAIN_AFTER):
            http.get("/api/v1/status", headers=headers)
        assert gc.get_freeze_count() <= after_warm_up  # once, not every 100 requests


def test_an_app_in_a_shared_process_leaves_the_collector_alone(
    api_settings: Settings, thawed: None
) -> None:
    with TestClient(create_app(api_settings, unique_config())) as http:
        for _ in range(FREEZE_AGAIN_AFTER + 1):
            http.get("/api/versions")
        assert gc.get_freeze_count() == 0
