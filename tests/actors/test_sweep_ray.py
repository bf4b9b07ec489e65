"""Sweeps and walk-forward through Ray tasks give exactly the in-process results."""

from __future__ import annotations

from typing import Any

import pytest

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.backtest.sweep import (
    LocalExecutor,
    case_setup,
    parse_sweep,
    run_walk_forward,
    walk_forward_folds,
)
from sigmax.data import load_bars
from sigmax.model import BarSeries

TEMPLATE = BacktestRequest(
    data="bundled:BTC-USD-1h", strategy="sma_cross", params={"size": "0.25"}, progress=False
)


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    """2,000 real hourly BTC/USD bars from the bundled set."""
    return load_bars("bundled:BTC-USD-1h", "BTC/USD", "1h")[:2000]


def _by_params(report: Any, phase: str = "grid") -> dict[tuple, dict]:
    return {tuple(sorted(r["params"].items())): r for r in report.runs if r["phase"] == phase}


def test_ray_grid_equals_in_process_bit_for_bit(ray_cluster: Any, bars: BarSeries) -> None:
    from actors.sweep import run_sweep_on_ray

    risk = backtest_risk_config()
    grid = parse_sweep(["fast=5,12", "slow=30,80"])
    report = run_sweep_on_ray(bars, "sma_cross", grid, TEMPLATE, risk_config=risk, progress=False)
    assert report.meta["executor"] == "ray" and not report.failures
    runs = _by_params(report)
    assert len(runs) == 4
    for case in grid:
        params = {**TEMPLATE.params, **case}
        local = run_backtest(
            BacktestRequest(data="x", strategy="sma_cross", params=params, progress=False),
            risk,
            bars=bars,
        )
        row = runs[tuple(sorted(params.items()))]
        assert row["final_equity"] == str(local.result.final_equity)
        assert row["trades"] == len(local.document["trades"]) > 0
        assert row["metrics"]["sharpe"] == local.metrics["sharpe"]
    in_process = run_sweep_local(bars, grid, risk)
    assert [_timeless(r) for r in report.runs] == [_timeless(r) for r in in_process.runs]
    assert report.best is not None and in_process.best is not None
    assert _timeless(report.best) == _timeless(in_process.best)


def _timeless(row: dict) -> dict:
    """A report row without its wall time (the only field allowed to differ)."""
    return {k: v for k, v in row.items() if k != "elapsed_s"}


def run_sweep_local(bars: BarSeries, grid: list[dict[str, str]], risk: Any) -> Any:
    from sigmax.backtest.sweep import run_grid

    setup = case_setup(TEMPLATE, "sma_cross", risk)
    return run_grid(bars, setup, grid, LocalExecutor(bars, setup), TEMPLATE.params)


def test_a_failing_case_is_reported_with_its_params(ray_cluster: Any, bars: BarSeries) -> None:
    from actors.sweep import run_sweep_on_ray

    grid = parse_sweep(["fast=5,50", "slow=20,60"])  # fast=50 > slow=20 raises in the task
    report = run_sweep_on_ray(bars, "sma_cross", grid, TEMPLATE, progress=False)
    (failure,) = report.failures
    assert failure["params"] == {"size": "0.25", "fast": "50", "slow": "20"}
    assert failure["error"].startswith("StrategyError")
    assert "fast (50) must be < slow (20)" in failure["error"]
    assert sum(r["status"] == "ok" for r in report.runs) == 3


def test_ray_walk_forward_picks_per_fold_by_the_metric(ray_cluster: Any, bars: BarSeries) -> None:
    from actors.sweep import run_walk_forward_on_ray

    risk = backtest_risk_config()
    grid = parse_sweep(["fast=4,10", "slow=24,60"])
    folds = walk_forward_folds(len(bars), 3, train_fraction=0.5)
    report = run_walk_forward_on_ray(
        bars, "sma_cross", grid, TEMPLATE, folds, risk_config=risk,
        select_by="sortino", progress=False,
    )  # fmt: skip
    for fold in report.folds:
        train = [r for r in report.runs if r["phase"] == "train" and r["fold"] == fold["index"]]
        assert len(train) == 4
        assert fold["params"] == max(train, key=lambda r: r["metrics"]["sortino"])["params"]
    setup = case_setup(TEMPLATE, "sma_cross", risk)
    local = run_walk_forward(
        bars, setup, grid, folds, LocalExecutor(bars, setup), TEMPLATE.params, "sortino"
    )
    assert [f["params"] for f in report.folds] == [f["params"] for f in local.folds]
    assert report.oos is not None and local.oos is not None
    assert report.oos["equity"] == local.oos["equity"]
