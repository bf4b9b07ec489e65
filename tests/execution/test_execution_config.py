"""The execution config classes: frozen, closed to unknown keys, bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from sigmax.execution import CcxtVenueConfig, PaperExchangeConfig


def test_paper_config_defaults_are_cost_free_and_uncapped() -> None:
    cfg = PaperExchangeConfig()
    assert cfg.taker_fee_bps == cfg.slippage_bps == cfg.spread_bps == 0
    assert cfg.max_participation is None and cfg.qty_step is None


def test_paper_config_parses_strings_to_exact_decimals() -> None:
    cfg = PaperExchangeConfig(taker_fee_bps="7.5", qty_step="0.001")  # type: ignore[arg-type]
    assert cfg.taker_fee_bps == Decimal("7.5") and cfg.qty_step == Decimal("0.001")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("taker_fee_bps", -1),
        ("max_participation", 0),
        ("max_participation", "1.5"),
        ("qty_step", 0),
        ("price_tick", -0.01),
        ("slippage_bps", 5000),
    ],
)
def test_paper_config_rejects_out_of_range_values(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        PaperExchangeConfig(**{field: value})  # type: ignore[arg-type]


def test_configs_are_frozen_and_forbid_unknown_fields() -> None:
    cfg = PaperExchangeConfig()
    with pytest.raises(ValidationError):
        cfg.taker_fee_bps = Decimal(1)
    with pytest.raises(ValidationError, match="taker_fee"):
        PaperExchangeConfig(taker_fee=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="market_type"):
        CcxtVenueConfig(market_type="options")  # type: ignore[arg-type]


def test_ccxt_config_validates_the_exchange_id() -> None:
    assert CcxtVenueConfig().sandbox is True
    with pytest.raises(ValidationError, match="exchange_id"):
        CcxtVenueConfig(exchange_id="Binance US")
