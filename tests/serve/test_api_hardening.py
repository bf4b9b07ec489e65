"""Hardening (issue 18): what a hostile caller, a retrying client and a failing
dependency must not do to the API.

Real PostgreSQL (a throwaway schema) and real Redis; the app runs in-process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.serve.conftest import KeyMaker


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
