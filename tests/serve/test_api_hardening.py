"""Hardening (issue 18): what a hostile caller, a retrying client and a failing
dependency must not do to the API.

Real PostgreSQL (a throwaway schema) and real Redis; the app runs in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serve_app._private.static import WEB_DIST_ENV
from serve_app.api import create_app
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config


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
