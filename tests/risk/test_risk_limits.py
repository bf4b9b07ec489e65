"""Limits: config validation and run-time updates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from sigmax.risk import RiskConfig, RiskEngine


def test_defaults_are_sensible():
    cfg = RiskConfig()
    assert cfg.max_slippage_pct == 0.01
    assert cfg.allow_short is False
    assert cfg.position_limit("BTC/USDT") == cfg.max_position_notional


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_order_notional", "-1"),
        ("max_drawdown_pct", 1.5),
        ("price_band_pct", "0"),
        ("max_orders_per_minute", 0),
        ("no_such_limit", 1),
    ],
)
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValidationError, match=field):
        RiskConfig(**{field: value})


def test_config_rejects_bad_override():
    with pytest.raises(ValidationError, match=r"position_notional_overrides\['ETH'\]"):
        RiskConfig(position_notional_overrides={"ETH": Decimal("0")})


def test_update_limits_applies_and_audits(order, ctx):
    engine = RiskEngine(RiskConfig())
    new = engine.update_limits(operator="alice", max_order_notional="50", allow_short=True)
    assert engine.config is new
    assert new.max_order_notional == Decimal("50")
    assert not engine.check(order(qty="1"), ctx(last="100")).approved
    (record,) = engine.audit.records("limits_change")
    assert record.payload["operator"] == "alice"
    assert record.payload["changes"]["max_order_notional"] == {"old": "100000", "new": "50"}


def test_update_limits_invalid_keeps_old_limits():
    engine = RiskEngine(RiskConfig())
    old = engine.config
    with pytest.raises(ValueError, match=r"(?s)limits unchanged.*max_drawdown_pct"):
        engine.update_limits(max_drawdown_pct=-0.1, max_order_notional="1")
    with pytest.raises(ValueError, match=r"(?s)limits unchanged.*bogus"):
        engine.update_limits(bogus=3)
    with pytest.raises(ValueError, match="no changes"):
        engine.update_limits()
    assert engine.config is old
    assert engine.audit.records("limits_change") == []


def test_update_limits_retunes_the_breakers():
    engine = RiskEngine(RiskConfig(max_drawdown_pct=0.5, daily_loss_limit_pct=None))
    day0 = 19_700 * 86_400_000_000_000
    engine.on_equity(day0, 100.0)
    engine.on_equity(day0 + 3_600_000_000_000, 85.0)
    assert engine.state == "running"
    engine.update_limits(max_drawdown_pct=0.1)
    engine.on_equity(day0 + 7_200_000_000_000, 85.0)
    assert engine.state == "paused"
