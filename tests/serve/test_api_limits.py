"""PUT /api/v1/risk/limits takes every RiskConfig field, with RiskConfig's bounds and checks.

The body model (``LimitsIn``) is generated from ``RiskConfig``; these tests keep it from
drifting, apply a body with every field to a real risk engine as the risk actor does,
and send bad values to the app (no session: validation answers before any actor)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.api import create_app
from serve_app.schema import LimitsIn
from sigmax.config import Settings
from sigmax.risk import RiskConfig, RiskEngine
from tests.serve.conftest import unique_config

# A valid value, different from the default, for every RiskConfig field.
EVERY_LIMIT: dict[str, Any] = {
    "max_order_notional": "5000",
    "max_position_notional": None,
    "position_notional_overrides": {"BTC/USD": "1000"},
    "max_gross_exposure": "2.5",
    "max_leverage": "1.5",
    "price_band_pct": "0.02",
    "max_orders_per_minute": 30,
    "daily_loss_limit_pct": 0.03,
    "max_drawdown_pct": 1,
    "max_slippage_pct": None,
    "max_consecutive_losses": 5,
    "max_venue_errors_per_minute": 20,
    "stale_data_intervals": 7,
    "restricted_symbols": ["DOGE/USD"],
    "allow_short": True,
    "max_open_positions": 3,
}

BAD_VALUES: list[tuple[str, Any]] = [
    ("max_order_notional", "0"),
    ("position_notional_overrides", {"BTC/USD": "-1"}),
    ("max_gross_exposure", "101"),
    ("daily_loss_limit_pct", 1.5),
    ("max_consecutive_losses", 0),
    ("max_venue_errors_per_minute", 100_001),
    ("stale_data_intervals", 0),
    ("restricted_symbols", [""]),
    ("allow_short", None),
    ("not_a_limit", 1),
]


def test_the_body_has_every_risk_config_field_with_its_bounds() -> None:
    assert set(LimitsIn.model_fields) == set(RiskConfig.model_fields)
    for name, field in RiskConfig.model_fields.items():
        body_field = LimitsIn.model_fields[name]
        assert body_field.description == field.description, name
        assert body_field.metadata == field.metadata, name
        assert not body_field.is_required(), name


def test_a_body_with_every_field_changes_every_limit() -> None:
    assert set(EVERY_LIMIT) == set(RiskConfig.model_fields), "add the new field here"
    changes = LimitsIn.model_validate(EVERY_LIMIT).model_dump(exclude_unset=True, mode="json")
    engine = RiskEngine(RiskConfig())
    updated = engine.update_limits(operator="test", **changes)
    assert updated == RiskConfig.model_validate(EVERY_LIMIT)
    assert updated.model_dump() != RiskConfig().model_dump()
    for name, value in updated.model_dump().items():
        assert value != getattr(RiskConfig(), name), f"{name} kept its default"
    restarted = RiskEngine(RiskConfig())  # the risk actor after a restart
    restarted.restore(json.loads(json.dumps(engine.snapshot())))
    assert restarted.config == updated


def test_a_field_left_out_is_not_sent() -> None:
    body = LimitsIn.model_validate({"max_leverage": "1.5"})
    assert body.model_dump(exclude_unset=True, mode="json") == {"max_leverage": "1.5"}


@pytest.fixture(scope="module")
def api(api_settings: Settings) -> Iterator[TestClient]:
    """The app without a session, allowing more trading requests than the default."""
    with TestClient(create_app(api_settings, unique_config(rate_trading=100))) as client:
        yield client


@pytest.fixture(scope="module")
def trader_headers(trade_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {trade_key}"}


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_a_bad_value_is_422_naming_the_field(
    api: TestClient, trader_headers: dict[str, str], field: str, value: Any
) -> None:
    response = api.put("/api/v1/risk/limits", json={field: value}, headers=trader_headers)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", field]]


def test_a_valid_body_passes_validation(api: TestClient, trader_headers: dict[str, str]) -> None:
    response = api.put("/api/v1/risk/limits", json=EVERY_LIMIT, headers=trader_headers)
    assert response.json()["code"] == "no_session", response.text  # past validation
