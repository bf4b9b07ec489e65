"""Hardening (issue 18): what a hostile caller, a retrying client and a failing
dependency must not do to the API.

Real PostgreSQL (a throwaway schema) and real Redis; the app runs in-process."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app._private.client_address import VIA_UNTRUSTED_PROXY, client_address, networks
from serve_app._private.job_inputs import allowed_checkpoint, allowed_data
from serve_app._private.static import WEB_DIST_ENV
from serve_app.api import create_app
from serve_app.exceptions import Unprocessable
from sigmax.config import Settings
from sigmax.storage.redis_config import RedisConfig
from tests.serve.conftest import KeyMaker, client_for, unique_config


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("prices", "field"),
    [
        ({"type": "limit"}, "limit_price"),
        ({"type": "stop"}, "stop_price"),
        ({"type": "stop_limit"}, "limit_price"),
        ({"type": "stop_limit", "limit_price": "100"}, "stop_price"),
        ({"type": "market", "limit_price": "100"}, "limit_price"),
        ({"type": "limit", "limit_price": "100", "stop_price": "90"}, "stop_price"),
    ],
)
def test_order_prices_that_do_not_fit_the_type_are_422_naming_the_field(
    api: TestClient, make_key: KeyMaker, prices: dict[str, str], field: str
) -> None:
    body = {"client_order_id": "h-1", "symbol": "BTC/USD", "side": "buy", "qty": "0.01"}
    answer = api.post("/api/v1/orders", json=body | prices, headers=_bearer(make_key(["trade"])))
    assert answer.status_code == 422, answer.text
    assert field in answer.text


def test_assets_of_an_unbuilt_dashboard_are_404_with_a_hint(
    api_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEB_DIST_ENV, str(tmp_path / "not-built"))
    with TestClient(create_app(api_settings, unique_config())) as http:
        answer = http.get("/assets/index-abc123.js")
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "dashboard_not_built"
    assert "make web" in answer.json()["detail"]


def test_request_headers_over_the_cap_are_431(api_settings: Settings) -> None:
    config = unique_config(max_header_bytes=8 * 1024)
    with TestClient(create_app(api_settings, config)) as http:
        fits = http.get("/api/v1/health", headers={"X-Padding": "a" * 4096})
        too_big = http.get("/api/v1/health", headers={"X-Padding": "a" * 16 * 1024})
        split = {f"X-Pad-{i}": "a" * 1024 for i in range(10)}
        many = http.get("/api/v1/health", headers=split)
    assert fits.status_code == 200, fits.text
    assert too_big.status_code == 431, too_big.text
    assert too_big.json()["code"] == "headers_too_large"
    assert "8192" in too_big.json()["detail"]
    assert many.status_code == 431


@contextlib.contextmanager
def _served(app: Any) -> Iterator[str]:
    """``app`` under a real uvicorn on loopback, configured as Serve's HTTP proxy runs
    it (proxy headers on, loopback trusted by default); its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _statuses_with_new_forwarded_for(base: str, count: int) -> list[int]:
    with httpx.Client(base_url=base) as http:
        return [
            http.get("/api/v1/health", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(count)
        ]


def test_forged_forwarded_for_does_not_escape_the_address_limit(api_settings: Settings) -> None:
    app = create_app(api_settings, unique_config(rate_general=5))
    with _served(app) as base:
        statuses = _statuses_with_new_forwarded_for(base, 8)
    assert statuses == [200] * 5 + [429] * 3


def test_forwarded_for_from_a_configured_proxy_names_the_caller(api_settings: Settings) -> None:
    config = unique_config(rate_general=5, trusted_proxies=["127.0.0.1"])
    with _served(create_app(api_settings, config)) as base:
        statuses = _statuses_with_new_forwarded_for(base, 8)
    assert statuses == [200] * 8


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", "1.2.3.4", [], "198.51.100.7"),
        ("198.51.100.7", "1.2.3.4", ["10.0.0.0/8"], "198.51.100.7"),
        ("10.0.0.2", "1.2.3.4, 10.0.0.9", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", None, ["10.0.0.0/8"], "10.0.0.2"),
        ("1.2.3.4", "1.2.3.4", [], VIA_UNTRUSTED_PROXY),
    ],
)
def test_client_address_believes_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded: str | None, trusted: list[str], expected: str
) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"client": (peer, 1234), "headers": headers}
    assert client_address(scope, networks(trusted)) == expected


def test_websocket_connects_count_against_the_address_limit(api_settings: Settings) -> None:
    codes = []
    with TestClient(create_app(api_settings, unique_config(rate_general=5))) as http:
        for _ in range(8):
            with (
                pytest.raises(WebSocketDisconnect) as closed,
                http.websocket_connect("/api/v1/ws", headers=_bearer("sgx_1_bad")),
            ):
                pass
            codes.append(closed.value.code)
    assert codes == [4401] * 5 + [4429] * 3


def test_readiness_is_rate_limited_per_address(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings, unique_config(rate_general=5))) as http:
        statuses = [http.get("/health/ready").status_code for _ in range(8)]
    assert statuses[:5] == [503] * 5  # no session: not ready
    assert statuses[5:] == [429] * 3


def test_readiness_is_checked_at_most_once_a_second(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings, unique_config())) as http:
        first, second = (http.get("/health/ready").json() for _ in range(2))
        time.sleep(1.1)
        later = http.get("/health/ready").json()
    assert first == second  # the same check, latencies included
    assert later["checks"]["postgres"] != first["checks"]["postgres"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/jobs/backtest", {"data": "/etc/shadow"}),
        ("/api/v1/jobs/backtest", {"data": "/etc/no-such-file"}),
        ("/api/v1/jobs/backtest", {"data": "../../etc/passwd"}),
        ("/api/v1/jobs/train", {"data": "/etc/shadow"}),
        ("/api/v1/jobs/backtest", {"strategy": "rl_policy", "params": {"checkpoint": "/tmp"}}),
    ],
)
def test_jobs_refuse_files_outside_the_configured_directories(
    api_settings: Settings, tmp_path: Path, trade_key: str, path: str, body: dict[str, Any]
) -> None:
    config = unique_config(job_data_dir=tmp_path / "data", job_checkpoint_dir=tmp_path / "ckpt")
    with TestClient(create_app(api_settings, config)) as http:
        answer = http.post(path, json=body, headers=_bearer(trade_key))
    assert answer.status_code == 422, answer.text
    assert str(tmp_path) in answer.json()["detail"]  # names where files may be
    assert "No such file" not in answer.text


def test_jobs_take_bundled_data_and_files_under_the_data_directory(tmp_path: Path) -> None:
    assert allowed_data("bundled:BTC-USD-1h", tmp_path) == "bundled:BTC-USD-1h"
    assert allowed_data(str(tmp_path / "bars.csv"), tmp_path) == str(tmp_path / "bars.csv")
    assert allowed_data("bars.csv", tmp_path) == str(tmp_path / "bars.csv")
    assert allowed_checkpoint(str(tmp_path / "run"), tmp_path) == str(tmp_path / "run")
    with pytest.raises(Unprocessable):
        allowed_checkpoint(str(tmp_path / ".." / "elsewhere"), tmp_path)


def test_a_revoked_keys_websocket_is_closed_within_the_revocation_delay(
    api_settings: Settings, make_key: KeyMaker, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_EVENTS_WS_PING_INTERVAL_S", "0.2")  # the socket keeps talking
    key = make_key(["read"], "ws-soon-revoked")
    app = create_app(api_settings, unique_config(auth_cache_s=1.0))
    with TestClient(app) as http, http.websocket_connect(f"/api/v1/ws?token={key}") as ws:
        assert ws.receive_json()["type"] == "welcome"
        admin = client_for(http, admin_key)
        admin.revoke_key(next(k["id"] for k in admin.list_keys() if k["name"] == "ws-soon-revoked"))
        revoked_at = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while time.monotonic() - revoked_at < 5:
                assert ws.receive_json()["type"] == "ping"
    assert closed.value.code == 4401
    assert time.monotonic() - revoked_at < 1.0 + 1.0  # the delay, plus a check's slack


@contextlib.contextmanager
def _private_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test alone (so it can fail over); its URL and process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", server
    finally:
        server.kill()
        server.wait(10)


def test_a_redis_failover_does_not_reset_the_rate_limit(
    api_settings: Settings, make_key: KeyMaker, tmp_path: Path
) -> None:
    headers, other = (_bearer(make_key(["read"], name)) for name in ("failover", "other"))
    with _private_redis(tmp_path) as (url, server):
        settings = api_settings.model_copy(update={"redis": RedisConfig(url=url)})
        with TestClient(create_app(settings, unique_config(rate_general=10))) as http:
            before = [http.get("/api/v1/status", headers=headers).status_code for _ in range(10)]
            server.kill()
            server.wait(10)
            after = [http.get("/api/v1/status", headers=headers).status_code for _ in range(10)]
            details = http.get("/api/v1/health/details", headers=other)
    assert before == [200] * 10
    assert after == [429] * 10  # the in-process counts start from this replica's hits
    redis = details.json()["stores"]["redis"]
    assert redis["status"] == "degraded"
    assert "fail-safe" in redis["detail"]["fallback"]
