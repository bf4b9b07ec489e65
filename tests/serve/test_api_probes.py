"""The Kubernetes probes without a session: /health/live always answers, /health/ready
names what is missing (the session, an unreachable store). With a running session
they are checked in test_api_control.py."""

from __future__ import annotations

from fastapi.testclient import TestClient

from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.redis_config import RedisConfig
from tests.serve.conftest import unique_config

UNREACHABLE_REDIS = RedisConfig(url="redis://127.0.0.1:1/0")


def test_live_answers_without_a_key_and_is_not_redirected(api: TestClient) -> None:
    response = api.get("/health/live", follow_redirects=False)
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_ready_without_a_session_is_503_naming_it(api: TestClient) -> None:
    response = api.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["failed"] == ["actors"]
    assert "no trading session" in body["checks"]["actors"]["detail"]
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert "trading" not in body["checks"]


def test_ready_names_an_unreachable_redis(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"redis": UNREACHABLE_REDIS})
    with TestClient(create_app(settings, unique_config(actor_timeout_s=3))) as client:
        body = client.get("/health/ready").json()
    assert body["failed"] == ["actors", "redis"]
    assert body["checks"]["postgres"]["ok"] is True


def test_ready_names_an_unreachable_postgres_within_the_timeout(api_settings: Settings) -> None:
    postgres = PostgresConfig(
        dsn="postgresql://nobody@127.0.0.1:1/none", pool_size=1, max_overflow=0
    )
    settings = api_settings.model_copy(update={"postgres": postgres})
    with TestClient(create_app(settings, unique_config(actor_timeout_s=3))) as client:
        live = client.get("/health/live")
        response = client.get("/health/ready")
    assert live.status_code == 200  # live does not touch the stores
    assert response.status_code == 503
    body = response.json()
    assert "postgres" in body["failed"]
    assert body["checks"]["postgres"]["detail"]


def test_probes_are_in_the_openapi_document(api: TestClient) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    assert {"/health/live", "/health/ready"} <= set(paths)
    assert {f"/api/v1/control/{a}" for a in ("start", "pause", "stop", "panic")} <= set(paths)


def test_probes_do_not_use_up_the_callers_rate_limit(api_settings: Settings) -> None:
    app = create_app(api_settings, unique_config(rate_general=3))
    with TestClient(app) as http:
        for _ in range(10):  # a kubelet probing every few seconds
            assert http.get("/health/live").status_code == 200
        codes = [http.get("/api/v1/health").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
