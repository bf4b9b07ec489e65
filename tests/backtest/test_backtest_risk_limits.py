"""The deployment's risk limits (``Settings.risk``, ``SIGMAX_RISK__*``) are the base of a
backtest's risk profile: the entry point passes them in, the library never reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.backtest.risk_profile import OFF_IN_BACKTESTS, backtest_risk_config
from sigmax.cli import app
from sigmax.config import get_settings
from sigmax.risk import RiskConfig

runner = CliRunner()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """``get_settings()`` reads the environment the test sets (and forgets it after)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_profile_keeps_the_base_limits_and_turns_off_the_absolute_ones() -> None:
    base = RiskConfig(max_leverage=Decimal("0.5"), max_order_notional=Decimal(100))
    config = backtest_risk_config({"max_drawdown_pct": "0.2"}, base)
    assert config.max_leverage == Decimal("0.5")
    assert config.max_order_notional is None
    assert config.max_drawdown_pct == 0.2
    unset = {k for k in OFF_IN_BACKTESTS if k != "max_drawdown_pct"}
    assert all(getattr(config, k) is None for k in unset)


def test_without_a_base_the_risk_config_defaults_apply() -> None:
    defaults = RiskConfig().model_dump()
    assert backtest_risk_config().model_dump() == {**defaults, **OFF_IN_BACKTESTS}


def test_the_cli_backtest_runs_under_the_settings_risk_limits(
    fresh_settings: None, btc_1h_small: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "btc.csv"
    btc_1h_small[:1500].to_frame().reset_index().to_csv(data, index=False)

    def trades() -> list[Any]:
        out = tmp_path / "out.json"
        args = ["--data", str(data), "--symbol", "BTC/USD", "--strategy", "sma_cross"]
        result = runner.invoke(app, ["backtest", *args, "--json", str(out)])
        assert result.exit_code == 0, result.output
        found: list[Any] = json.loads(out.read_text())["trades"]
        return found

    assert trades(), "sma_cross should trade without restrictions"
    monkeypatch.setenv("SIGMAX_RISK__RESTRICTED_SYMBOLS", '["BTC/USD"]')
    get_settings.cache_clear()
    assert trades() == []
