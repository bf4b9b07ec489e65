"""GET /api/v1/metrics shows the connection pools inside the actor processes, not only
the API replica's: a persisted portfolio actor on the test Ray cluster opens its
PostgreSQL pool (real server, the test schema) and its gauges appear in the API's
Prometheus text with the actor's name as the ``actor`` label."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import ray
from fastapi.testclient import TestClient

from actors.portfolio import PortfolioActor
from actors.ray_metrics import POOL_STATS_INTERVAL_S
from serve_app.api import create_app
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config


@pytest.fixture(scope="module")
def portfolio_actor(ray_cluster: Any, api_settings: Settings) -> Iterator[str]:
    """A persisted portfolio actor that has opened its pool; yields its name."""
    name = f"portfolio:pools-{uuid.uuid4().hex[:8]}"
    options = PortfolioActor.options  # type: ignore[attr-defined]
    actor = options(name=name, num_cpus=0).remote(
        "1000", f"acct-{uuid.uuid4().hex[:8]}", api_settings.postgres.model_dump_json()
    )
    try:
        assert ray.get(actor.positions.remote(), timeout=60) == []  # reads its fills: pool open
        yield name
    finally:
        ray.kill(actor)


@pytest.fixture(scope="module")
def http(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, unique_config())) as client:
        yield client


def _scrape(http: TestClient, key: str) -> str:
    response = http.get("/api/v1/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.text


def test_metrics_show_the_pool_of_an_actor_process(
    http: TestClient, make_key: KeyMaker, portfolio_actor: str
) -> None:
    key = make_key(["read"], "pool-scraper")
    wanted = f'sigmax_pool_size{{actor="{portfolio_actor}",kind="database",store="postgres"}}'
    deadline = time.monotonic() + 5 * POOL_STATS_INTERVAL_S
    text = _scrape(http, key)
    while wanted not in text and time.monotonic() < deadline:
        time.sleep(0.5)
        text = _scrape(http, key)
    lines = [line for line in text.splitlines() if f'actor="{portfolio_actor}"' in line]
    assert lines, f"no pool series of {portfolio_actor} in:\n{text[-3000:]}"
    print("\n".join(lines))
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}
    assert values[wanted] >= 1  # the actor's pool holds at least one connection
    labels = f'{{actor="{portfolio_actor}",kind="database",store="postgres"}}'
    for family in ("in_use", "waiting", "held_too_long"):
        assert f"sigmax_pool_{family}{labels}" in values
    assert values[f"sigmax_pool_acquire_seconds_count{labels}"] >= 1  # it read the fills
    # The seed's check: `curl .../api/v1/metrics | grep database` shows the database
    # pools' values, this actor's among them
    said = [line for line in text.splitlines() if "database" in line]
    assert any(line.startswith("sigmax_pool_size{") and portfolio_actor in line for line in said), (
        said
    )


def test_a_process_that_stopped_publishing_is_left_out_and_deleted(ray_cluster: Any) -> None:
    from ray.experimental import internal_kv

    from actors.ray_metrics import POOL_STATS_MAX_AGE_S, POOL_STATS_NAMESPACE, read_pool_stats

    key = f"gone-node:{uuid.uuid4().hex[:8]}"
    sample = ["sigmax_pool_size", "sigmax_pool_size", {"store": "postgres"}, 1.0]
    doc = {"actor": key, "at": time.time() - POOL_STATS_MAX_AGE_S - 1, "samples": [sample]}
    internal_kv._internal_kv_put(key, json.dumps(doc), namespace=POOL_STATS_NAMESPACE)
    assert key not in {d["actor"] for d in read_pool_stats()}
    assert internal_kv._internal_kv_get(key, namespace=POOL_STATS_NAMESPACE) is None
