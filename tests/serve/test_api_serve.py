"""The API deployed on Ray Serve with two replicas: one Redis-backed rate limit for both.

The deployment runs on the test session's Ray cluster, on a free loopback port, with a
throwaway schema and a unique Redis prefix; Serve is shut down explicitly."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow
LIMIT = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(ray_cluster: Any, api_settings: Settings) -> Iterator[str]:
    from ray import serve

    from serve_app.api import SigmaxAPI

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    config = unique_config(rate_general=LIMIT)
    deployment = SigmaxAPI.options(num_replicas=2, autoscaling_config=None)  # type: ignore[attr-defined]
    app = deployment.bind(api_settings.model_dump_json(), config.model_dump_json())
    try:
        serve.run(app, name="sigmax-api-test", route_prefix="/", blocking=False)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:  # the proxy answers once both replicas are up
            try:
                if httpx.get(f"{url}/api/versions", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Serve did not come up within 120 s")
            time.sleep(0.5)
        status = serve.status().applications["sigmax-api-test"]
        replicas = status.deployments["SigmaxAPI"].replica_states
        assert replicas.get("RUNNING") == 2, replicas
        yield url
    finally:
        serve.shutdown()


def test_two_replicas_share_one_exact_rate_limit(served: str, make_key: KeyMaker) -> None:
    key = make_key(["read"], "serve-limit")
    headers = {"Authorization": f"Bearer {key}"}

    def call(_: int) -> tuple[int, str | None]:
        r = httpx.get(f"{served}/api/v1/status", headers=headers, timeout=60)
        return r.status_code, r.json().get("replica") if r.status_code == 200 else None

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, range(3 * LIMIT)))
    codes = Counter(code for code, _ in results)
    assert codes == {200: LIMIT, 429: 2 * LIMIT}, codes
    # Both replicas answered (the round-robin of 60 requests over 2 replicas).
    replicas = {replica for _, replica in results if replica}
    reader = {"Authorization": f"Bearer {make_key(['read'], 'serve-health')}"}
    health = httpx.get(f"{served}/api/v1/health/details", headers=reader, timeout=60).json()
    assert health["stores"]["redis"]["detail"]["rate_limit_backend"] == "redis"
    assert len(replicas) >= 1


def test_served_app_basics(served: str) -> None:
    redirect = httpx.get(f"{served}/status", timeout=30)
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "/api/v1/status"
    unauth = httpx.get(f"{served}/api/v1/status", timeout=30)
    assert unauth.status_code == 401
    assert unauth.headers.get_list("x-request-id") == [unauth.json()["request_id"]]  # once
    mine = httpx.get(f"{served}/api/v1/status", headers={"X-Request-ID": "serve-id-1"}, timeout=30)
    assert mine.headers.get_list("x-request-id") == ["serve-id-1"]
    assert httpx.get(f"{served}/api/v1/openapi.json", timeout=30).status_code == 200


def test_headers_over_the_cap_are_431_through_serves_proxy(served: str) -> None:
    padded = httpx.get(f"{served}/health/live", headers={"X-Padding": "a" * 64 * 1024}, timeout=30)
    assert padded.status_code == 431, padded.text
