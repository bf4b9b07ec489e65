"""A backtest charges the paper exchange's costs unless told otherwise, and its report
says which costs it charged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.cli import app
from sigmax.config import Settings, get_settings
from sigmax.model import BarSeries, Side, to_decimal

runner = CliRunner()
PAPER = Settings().paper
SMA = {"fast": "5", "slow": "20", "size": "0.5"}


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_default_costs_are_the_paper_exchanges() -> None:
    assert BacktestRequest(data="x").costs() == {
        "fee_bps": str(PAPER.taker_fee_bps),
        "slippage_bps": str(PAPER.slippage_bps),
        "spread_bps": str(PAPER.spread_bps),
    }
    assert PAPER.spread_bps > 0  # a backtest no longer trades at the mid for free


def test_a_default_run_pays_half_the_spread_and_the_fee_on_every_fill(
    btc_1h_small: BarSeries,
) -> None:
    bars = btc_1h_small[:1500]
    request = BacktestRequest(data="in-memory", strategy="sma_cross", params=SMA, progress=False)
    outcome = run_backtest(request, backtest_risk_config(), bars=bars)
    assert outcome.document["meta"]["costs"] == request.costs()
    half_spread = PAPER.spread_bps / 2 / Decimal(10_000)
    fills = [e.fill for e in outcome.result.entries]
    assert len(fills) > 10
    for fill in fills:
        i = int(bars.ts.searchsorted(int(fill.ts.timestamp()) * 10**9))
        sign = 1 if fill.side is Side.BUY else -1
        assert fill.price == to_decimal(float(bars.open[i])) * (1 + sign * half_spread)
        assert fill.fee == PAPER.taker_fee_bps / Decimal(10_000) * fill.qty * fill.price


def _cli(bars: BarSeries, tmp_path: Path, *flags: str) -> tuple[dict[str, Any], str]:
    data = tmp_path / "btc.csv"
    bars.to_frame().reset_index().to_csv(data, index=False)
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    args = ["backtest", "--data", str(data), "--symbol", "BTC/USD", "--strategy", "sma_cross"]
    args += ["--param", "fast=5", "--param", "slow=20", "--json", str(out)]
    result = runner.invoke(app, [*args, "--report", str(report), *flags])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), report.read_text()


@pytest.mark.usefixtures("fresh_settings")
def test_the_command_charges_the_configured_paper_costs_and_reports_them(
    btc_1h_small: BarSeries, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_PAPER__SPREAD_BPS", "6")
    doc, page = _cli(btc_1h_small[:800], tmp_path)
    costs = {"fee_bps": str(PAPER.taker_fee_bps), "slippage_bps": "0", "spread_bps": "6"}
    assert doc["meta"]["costs"] == costs
    assert "Costs charged: fee <b>10 bps</b>" in page and "<b>6 bps</b> spread" in page


@pytest.mark.usefixtures("fresh_settings")
def test_cost_flags_override_the_paper_costs(btc_1h_small: BarSeries, tmp_path: Path) -> None:
    flags = ("--fee-bps", "7.5", "--slippage-bps", "3", "--spread-bps", "0")
    doc, _ = _cli(btc_1h_small[:800], tmp_path, *flags)
    assert doc["meta"]["costs"] == {"fee_bps": "7.5", "slippage_bps": "3", "spread_bps": "0"}
