"""The report splits the P&L: gross (before fees, spread and slippage), fees, slippage
paid, net; turnover per year, gross edge per unit traded and buy and hold, for the
portfolio and each symbol."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from sigmax.backtest.metrics import buy_and_hold
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestOutcome, BacktestRequest, run_backtest, save_reports
from sigmax.backtest.sweep import LocalExecutor, case_setup, parse_sweep, run_grid
from sigmax.model import BarSeries

SMA = {"fast": "5", "slow": "20", "size": "0.5"}  # fixed quantities: costs do not resize
FREE = {"fee_bps": Decimal(0), "slippage_bps": Decimal(0), "spread_bps": Decimal(0)}
COSTLY = {"fee_bps": Decimal(10), "slippage_bps": Decimal(3), "spread_bps": Decimal(2)}


def _run(bars: BarSeries, **costs: Decimal) -> BacktestOutcome:
    request = BacktestRequest(
        data="in-memory", strategy="sma_cross", params=SMA, progress=False, **costs
    )
    return run_backtest(request, backtest_risk_config(), bars=bars)


@pytest.fixture(scope="module")
def bars(btc_1h: BarSeries) -> BarSeries:
    return btc_1h[:1500]


def test_gross_pnl_is_the_pnl_the_same_trades_make_without_costs(bars: BarSeries) -> None:
    costly, free = _run(bars, **COSTLY).metrics, _run(bars, **FREE).metrics
    assert costly["round_trips"] == free["round_trips"] > 5
    assert costly["gross_pnl"] == pytest.approx(free["net_pnl"], abs=1e-6)
    assert free["gross_pnl"] == pytest.approx(free["net_pnl"], abs=1e-9)
    assert free["fees_paid"] == free["slippage_paid"] == 0.0


def test_costs_split_exactly(bars: BarSeries) -> None:
    outcome = _run(bars, **COSTLY)
    m, result = outcome.metrics, outcome.result
    cash = float(result.config.cash)
    assert m["net_pnl"] == pytest.approx(float(result.final_equity) - cash, abs=1e-6)
    fills = [e.fill for e in result.entries]
    assert m["fees_paid"] == pytest.approx(float(sum(f.fee for f in fills)))
    at = np.searchsorted(bars.ts, [int(f.ts.timestamp()) * 10**9 for f in fills])
    per_fill = [float(f.qty) * bars.open[i] * 4e-4 for f, i in zip(fills, at, strict=True)]
    assert m["slippage_paid"] == pytest.approx(sum(per_fill), rel=1e-9)  # 3 bps + 2/2 bps
    assert m["gross_pnl"] == pytest.approx(m["net_pnl"] + m["fees_paid"] + m["slippage_paid"])
    traded = sum(float(f.notional) for f in fills)
    assert m["traded_notional"] == pytest.approx(traded)
    assert m["gross_edge_bps"] == pytest.approx(m["gross_pnl"] / traded * 1e4)
    assert m["cost_bps"] == pytest.approx((m["fees_paid"] + m["slippage_paid"]) / traded * 1e4)
    years = 1500 / 8766.0
    assert m["turnover_per_year"] == pytest.approx(traded / np.mean(result.equity) / years)
    hold = buy_and_hold(bars, cash, 10.0)[-1] - cash
    assert m["buy_and_hold_pnl"] == pytest.approx(hold)
    assert m["excess_return"] == pytest.approx((m["net_pnl"] - hold) / cash)
    (symbol,) = outcome.document["symbols"].values()
    for key in ("gross_pnl", "slippage_paid", "net_pnl", "turnover_per_year", "gross_edge_bps"):
        assert symbol[key] == pytest.approx(m[key])
    assert symbol["buy_and_hold_pnl"] == pytest.approx(hold)


def test_a_portfolio_reports_each_symbol_and_their_sum(tmp_path: Path) -> None:
    names = ("bitstamp-ETH-USD-1d", "bitstamp-LTC-USD-1d")
    request = BacktestRequest(
        data=f"bundled:{names[0]}",
        extra_legs=((f"bundled:{names[1]}", "LTC/USD"),),
        strategy="sma_cross",
        params={"fast": "5", "slow": "20", "size": "1"},
        progress=False,
        **COSTLY,
    )
    outcome = run_backtest(request, backtest_risk_config())
    m, symbols = outcome.metrics, outcome.document["symbols"]
    assert set(symbols) == {"ETH/USD", "LTC/USD"}
    cash = float(outcome.result.config.cash)
    assert m["net_pnl"] == pytest.approx(float(outcome.result.final_equity) - cash, abs=1e-6)
    for key in ("gross_pnl", "fees_paid", "slippage_paid", "net_pnl", "buy_and_hold_pnl"):
        assert m[key] == pytest.approx(sum(s[key] for s in symbols.values()), abs=1e-6), key
    assert all(s["slippage_paid"] > 0 and s["trades"] > 5 for s in symbols.values())
    page = tmp_path / "report.html"
    save_reports(outcome, None, page, float(request.fee_bps))
    text = page.read_text()
    assert "P&amp;L, costs and edge" in text and "gross edge (bps traded)" in text
    assert all(f"<td>{name}</td>" in text for name in ("ETH/USD", "LTC/USD", "portfolio"))


def test_a_sweep_selects_by_edge_per_unit_traded_and_by_least_cost(bars: BarSeries) -> None:
    setup = case_setup(BacktestRequest(data="x", strategy="sma_cross"), risk=backtest_risk_config())
    grid = parse_sweep(["fast=3,5,10", "slow=20,40"])
    executor = LocalExecutor(bars, setup)
    for metric, pick in (("gross_edge_bps", max), ("slippage_paid", min)):
        report = run_grid(bars, setup, grid, executor, {"size": "0.2"}, metric)
        values = [r["metrics"][metric] for r in report.runs]
        assert report.best is not None and len(set(values)) > 1
        assert report.best["metrics"][metric] == pick(values)
