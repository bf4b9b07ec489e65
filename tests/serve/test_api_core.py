"""The API without a trading session: health, versions, auth, scopes, rate limits,
request ids, validation, body limit, legacy redirects, keys, placeholders.

Real PostgreSQL (a throwaway schema) and real Redis; the app runs in-process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serve_app.api import create_app
from sigmax.client import RateLimitedError, SigmaxAPIError
from sigmax.config import Settings
from sigmax.storage.redis_config import RedisConfig
from tests.serve.conftest import KeyMaker, client_for, unique_config

PUBLIC = {
    "/api/v1/health",
    "/api/versions",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/health/live",
    "/health/ready",
}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_public_health_says_only_up_degraded_or_down(api: TestClient) -> None:
    response = api.get("/api/v1/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status", "stores", "actors"}
    assert set(body["stores"]) == {"postgres", "redis", "clickhouse", "secrets"}
    assert body["stores"]["postgres"] == {"status": "up"}
    assert body["stores"]["redis"] == {"status": "up"}
    assert body["actors"]["risk"] == {"status": "down"}  # no session: not running
    for hidden in ("version", "latency", "pool", "server_version", "ttl", "auth", "backend"):
        assert hidden not in response.text


def test_health_details_need_a_key_with_read_scope(api: TestClient, read_key: str) -> None:
    assert api.get("/api/v1/health/details").status_code == 401
    response = api.get("/api/v1/health/details", headers=_bearer(read_key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"]
    assert body["stores"]["postgres"]["status"] == "ok"
    assert body["stores"]["postgres"]["required"] is True
    assert body["stores"]["postgres"]["latency_ms"] > 0
    assert body["stores"]["redis"]["status"] == "ok"
    assert body["stores"]["redis"]["detail"]["rate_limit_backend"] == "redis"
    assert set(body["stores"]) == {"postgres", "redis", "clickhouse", "secrets"}
    assert body["stores"]["secrets"]["detail"]["backend"] in ("env", "vault")
    assert body["actors"]["risk"]["status"] == "not_running"
    assert "no trading session" in body["actors"]["risk"]["detail"]["reason"]


def test_health_is_503_when_postgres_is_down() -> None:
    settings = Settings(
        postgres={"dsn": "postgresql://nobody@127.0.0.1:1/none", "pool_timeout": 1},
        redis=RedisConfig(url=None),
    )
    with TestClient(create_app(settings, unique_config())) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["stores"]["postgres"] == {"status": "down"}
    # Redis absent: the limiter falls back in-process and health says degraded.
    assert body["stores"]["redis"] == {"status": "degraded"}


def test_versions_and_version_headers(api: TestClient, read_key: str) -> None:
    body = api.get("/api/versions").json()
    assert body["current"] == "v1"
    assert body["versions"][0] == {
        "version": "v1",
        "status": "current",
        "path": "/api/v1",
        "sunset": None,
    }
    ok = api.get("/api/v1/status", headers={**_bearer(read_key), "Accept-Version": "v1"})
    assert ok.status_code == 200
    for header in ("Accept-Version", "X-API-Version"):
        bad = api.get("/api/v1/status", headers={**_bearer(read_key), header: "v7"})
        assert bad.status_code == 400
        assert "supported: v1" in bad.json()["detail"]
    assert api.get("/api/v2/status", headers=_bearer(read_key)).status_code == 400


def test_legacy_paths_redirect_308_with_deprecation_headers(api: TestClient) -> None:
    response = api.get("/status?x=1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["Location"] == "/api/v1/status?x=1"
    assert response.headers["Deprecation"].startswith("@")
    assert response.headers["Sunset"].endswith("GMT")
    assert 'rel="successor-version"' in response.headers["Link"]
    assert api.get("/health").status_code == 200  # followed to /api/v1/health
    assert api.get("/nothing-here", follow_redirects=False).status_code == 404


def test_every_non_public_route_needs_a_key(api_settings: Settings) -> None:
    # Failed auth counts against the caller's address: allow enough for the sweep.
    with TestClient(create_app(api_settings, unique_config(rate_general=1000))) as api:
        _sweep_routes_without_key(api)


def test_failed_auth_is_rate_limited_per_address(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings, unique_config(rate_general=3))) as api:
        codes = [
            api.get("/api/v1/status", headers=_bearer("sgx_a_b")).status_code for _ in range(5)
        ]
    assert codes == [401, 401, 401, 429, 429]


def _sweep_routes_without_key(api: TestClient) -> None:
    schema = api.get("/api/v1/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if path in PUBLIC:
            continue
        concrete = (
            path.replace("{decision_id}", "1")
            .replace("{client_order_id}", "x")
            .replace("{symbol}", "BTC-USD")
            .replace("{job_id}", "0" * 32)
            .replace("{key_id}", "1")
        )
        for method in operations:
            for headers in ({}, _bearer("sgx_unknown_key"), {"Authorization": "Basic abc"}):
                response = api.request(method.upper(), concrete, headers=headers)
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["WWW-Authenticate"] == "Bearer"
                checked += 1
    assert checked >= 3 * 30


def test_unknown_and_revoked_keys_get_the_same_answer(api: TestClient, make_key: KeyMaker) -> None:
    key = make_key(["read"], "soon-revoked")
    admin = client_for(api, make_key(["admin"], "revoker"))
    assert api.get("/api/v1/status", headers=_bearer(key)).status_code == 200
    key_id = next(k["id"] for k in admin.list_keys() if k["name"] == "soon-revoked")
    admin.revoke_key(key_id)
    revoked = api.get("/api/v1/status", headers=_bearer(key))
    unknown = api.get("/api/v1/status", headers=_bearer(key[:-4] + "AAAA"))
    assert revoked.status_code == unknown.status_code == 401
    assert revoked.json()["detail"] == unknown.json()["detail"]
    assert revoked.json()["code"] == unknown.json()["code"] == "unauthorized"


def test_expired_key_is_refused(api: TestClient, make_key: KeyMaker) -> None:
    from datetime import UTC, datetime, timedelta

    key = make_key(["read"], "expired", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert api.get("/api/v1/status", headers=_bearer(key)).status_code == 401


def test_scopes_nest_and_wrong_scope_is_403(api: TestClient, read_key: str) -> None:
    reader = client_for(api, read_key)
    assert reader.status()["session_running"] is False
    with pytest.raises(SigmaxAPIError) as refused:
        reader.pause("no scope")
    assert refused.value.status_code == 403
    assert "'trade' scope" in refused.value.detail
    with pytest.raises(SigmaxAPIError) as admin_only:
        reader.list_keys()
    assert admin_only.value.status_code == 403


def test_session_endpoints_answer_503_without_a_session(api: TestClient, admin_key: str) -> None:
    admin = client_for(api, admin_key)
    for call in (admin.portfolio, admin.positions, admin.risk_limits, admin.risk_events):
        with pytest.raises(SigmaxAPIError) as unavailable:
            call()
        assert unavailable.value.status_code == 503
        assert "no trading session: start `sigmax up`" in unavailable.value.detail
    # Stored history needs no session.
    assert admin.orders() == []
    assert admin.decisions() == []
    assert admin.fills() == []


def test_rate_limit_headers_and_exact_trading_limit(
    api_settings: Settings, make_key: KeyMaker
) -> None:
    config = unique_config(rate_trading=5, rate_general=50)
    key = make_key(["trade"], "limited")
    with TestClient(create_app(api_settings, config)) as http:
        statuses = []
        for _ in range(8):
            r = http.post("/api/v1/risk/pause", json={"reason": "x"}, headers=_bearer(key))
            statuses.append(r.status_code)
            assert r.headers["X-RateLimit-Limit"] == "5"
            assert int(r.headers["X-RateLimit-Reset"]) >= 0
        assert statuses == [503] * 5 + [429] * 3
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["X-RateLimit-Remaining"] == "0"
        # Another endpoint class of the same key is counted separately.
        general = http.get("/api/v1/status", headers=_bearer(key))
        assert general.status_code == 200
        assert general.headers["X-RateLimit-Limit"] == "50"
        assert general.headers["X-RateLimit-Remaining"] == "49"
        # Every response carries the headers, 404s and public routes included.
        for path in ("/api/v1/nope", "/api/v1/health", "/api/versions"):
            assert "X-RateLimit-Remaining" in http.get(path).headers
        metrics = http.get("/api/v1/metrics", headers=_bearer(key)).text
        assert 'sigmax_api_rate_limited_total{endpoint_class="trading"}' in metrics


def test_rate_limited_error_in_client(api_settings: Settings, make_key: KeyMaker) -> None:
    config = unique_config(rate_general=2)
    with TestClient(create_app(api_settings, config)) as http:
        client = client_for(http, make_key(["read"]))
        client.status()
        client.status()
        with pytest.raises(RateLimitedError) as limited:
            client.status()
        assert limited.value.retry_after_s >= 1


def test_request_ids_are_returned_and_generated(api: TestClient, read_key: str) -> None:
    given = api.get("/api/v1/status", headers={**_bearer(read_key), "X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = api.get("/api/v1/status", headers={**_bearer(read_key), "X-Request-ID": "bad id!"})
    assert made.headers["X-Request-ID"] != "bad id!"
    assert len(made.headers["X-Request-ID"]) == 32
    error = api.get("/api/v1/decisions/999999", headers=_bearer(read_key))
    assert error.status_code == 404
    assert error.json()["request_id"] == error.headers["X-Request-ID"]


def test_validation_errors_are_clear_422(api: TestClient, admin_key: str) -> None:
    response = api.post(
        "/api/v1/keys", json={"name": "", "scopes": ["root"]}, headers=_bearer(admin_key)
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    fields = {tuple(e["loc"]) for e in body["detail"]}
    assert ("body", "name") in fields
    assert ("body", "scopes", 0) in fields
    assert all("input" not in e for e in body["detail"])  # values are not echoed


def test_body_size_limit_is_413(api_settings: Settings, admin_key: str) -> None:
    with TestClient(create_app(api_settings, unique_config(max_body_bytes=200))) as http:
        big = {"name": "x" * 500, "scopes": ["read"]}
        response = http.post("/api/v1/keys", json=big, headers=_bearer(admin_key))
        assert response.status_code == 413
        assert "limit is 200 bytes" in response.json()["detail"]

        def chunks() -> object:
            yield b'{"name": "'
            yield b"y" * 400
            yield b'", "scopes": ["read"]}'

        streamed = http.post(
            "/api/v1/keys",
            content=chunks(),  # type: ignore[arg-type]
            headers={**_bearer(admin_key), "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413


def test_keys_create_list_rotate_revoke(api: TestClient, admin_key: str) -> None:
    admin = client_for(api, admin_key)
    made = admin.create_key("bot", ["read", "trade"], expires_days=30)
    assert made["key"].startswith("sgx_")
    assert made["scopes"] == ["read", "trade"]
    assert made["expires_at"] is not None
    bot = client_for(api, made["key"])
    assert bot.status()["version"]
    listed = {k["id"]: k for k in admin.list_keys()}
    assert "key" not in listed[made["id"]]
    assert listed[made["id"]]["last_used_at"] is not None
    rotated = admin.rotate_key(made["id"])
    assert rotated["rotated_from"] == made["id"]
    with pytest.raises(SigmaxAPIError) as old:
        bot.status()
    assert old.value.status_code == 401
    assert client_for(api, rotated["key"]).status()["version"]
    revoked = admin.revoke_key(rotated["id"])
    assert revoked["revoked_at"] is not None
    with pytest.raises(SigmaxAPIError) as again:
        admin.rotate_key(rotated["id"])
    assert again.value.status_code == 409
    with pytest.raises(SigmaxAPIError) as missing:
        admin.revoke_key(10**9)
    assert missing.value.status_code == 404


def test_quantum_says_when_no_optimisation_ran(api: TestClient, admin_key: str) -> None:
    admin = client_for(api, admin_key)
    with pytest.raises(SigmaxAPIError) as quantum:
        admin.quantum_last()
    assert quantum.value.status_code == 404
    assert quantum.value.detail.startswith("no optimisation has run yet")
    for path in ("/jobs/optimize", "/jobs/train"):
        with pytest.raises(SigmaxAPIError) as bad:
            admin.request("POST", path, json={"nope": 1})
        assert bad.value.status_code == 422


def test_metrics_are_prometheus_text(api: TestClient, read_key: str) -> None:
    api.get("/api/v1/status", headers=_bearer(read_key))
    text = client_for(api, read_key).metrics()
    assert "sigmax_api_requests_total{" in text
    assert 'sigmax_api_request_seconds_bucket{endpoint_class="general"' in text
    assert "sigmax_pool_size" in text
    assert "sigmax_trading_session_up 0.0" in text


def test_key_cache_forgets_keys_revoked_through_the_api(
    api_settings: Settings, make_key: KeyMaker
) -> None:
    with TestClient(create_app(api_settings, unique_config(auth_cache_s=600))) as http:
        admin = client_for(http, make_key(["admin"], "cache-admin"))
        made = admin.create_key("cached", ["read"])
        user = client_for(http, made["key"])
        assert user.status()["version"]  # verified once, now cached
        admin.revoke_key(made["id"])
        with pytest.raises(SigmaxAPIError) as revoked:
            user.status()
        assert revoked.value.status_code == 401
        rotated_from = admin.create_key("cached-2", ["read"])
        old = client_for(http, rotated_from["key"])
        assert old.status()["version"]
        new = admin.rotate_key(rotated_from["id"])
        with pytest.raises(SigmaxAPIError) as replaced:
            old.status()
        assert replaced.value.status_code == 401
        assert client_for(http, new["key"]).status()["version"]


def test_control_characters_are_refused_not_a_server_error(api: TestClient, trade_key: str) -> None:
    """Found by the schema fuzz: a NUL in an id reached PostgreSQL and gave a 500."""
    headers = _bearer(trade_key)
    query = api.get("/api/v1/fills", params={"client_order_id": "a\x00b"}, headers=headers)
    assert query.status_code == 422
    body = {"client_order_id": "op-1", "symbol": "BTC\x00/USD", "side": "buy", "qty": "0.001"}
    submitted = api.post("/api/v1/orders", json=body, headers=headers)
    assert submitted.status_code == 422
    assert "control characters" in submitted.text
