"""Sweep grids, walk-forward folds and the in-process sweep procedures (no Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.backtest.sweep import (
    _METRIC_NAMES,
    LocalExecutor,
    SweepError,
    case_setup,
    merge_params,
    parse_sweep,
    run_case,
    run_grid,
    run_walk_forward,
    stitch_equity,
    walk_forward_folds,
)

REQUEST = BacktestRequest(data="bundled:BTC-USD-1h", strategy="sma_cross", progress=False)


def test_parse_sweep_expands_the_cartesian_grid_in_order() -> None:
    grid = parse_sweep(["fast=5,10,20", "slow = 30, 60"])
    assert len(grid) == 6
    assert grid[0] == {"fast": "5", "slow": "30"}
    assert grid[1] == {"fast": "5", "slow": "60"}
    assert grid[-1] == {"fast": "20", "slow": "60"}
    assert parse_sweep([]) == [{}]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["fast"], "expected KEY=V1,V2"),
        (["=5,10"], "expected KEY=V1,V2"),
        (["fast=5,,10"], "empty value"),
        (["fast="], "empty value"),
        (["fast=5,5"], "5 repeated"),
        (["fast=5", "fast=10"], "given twice"),
    ],
)
def test_parse_sweep_rejects_bad_items(items: list[str], message: str) -> None:
    with pytest.raises(SweepError, match=message):
        parse_sweep(items)


def test_parse_sweep_bounds_the_grid_size() -> None:
    items = ["a=" + ",".join(map(str, range(40))), "b=" + ",".join(map(str, range(30)))]
    with pytest.raises(SweepError, match=r"1,200 cases \(40 a x 30 b\).*limit of 1,000"):
        parse_sweep(items)
    assert len(parse_sweep(items, max_cases=1200)) == 1200


def test_merge_params_refuses_a_key_both_fixed_and_swept() -> None:
    assert merge_params({"size": "1"}, {"fast": "5"}) == {"size": "1", "fast": "5"}
    with pytest.raises(SweepError, match="fast given both"):
        merge_params({"fast": "5"}, {"fast": "10"})


@pytest.mark.parametrize("anchored", [False, True])
@pytest.mark.parametrize(
    ("n", "folds", "kwargs"),
    [
        (2000, 4, {"train_fraction": 0.5}),
        (2001, 3, {"train_fraction": 0.7}),
        (1000, 5, {"train_bars": 300}),
        (50, 1, {"train_bars": 10}),
    ],
)
def test_folds_tile_the_end_without_overlap_or_look_ahead(
    n: int, folds: int, kwargs: dict, anchored: bool
) -> None:
    out = walk_forward_folds(n, folds, anchored=anchored, **kwargs)
    assert [f.index for f in out] == list(range(folds))
    assert out[-1].test_stop == n
    for f in out:
        assert 0 <= f.train_start < f.train_stop == f.test_start < f.test_stop
        assert f.test_bars >= 2 and f.train_bars >= 2
        if anchored:
            assert f.train_start == 0
        else:
            assert f.train_bars == out[0].train_bars
    for a, b in zip(out, out[1:], strict=False):
        assert a.test_stop == b.test_start  # consecutive, non-overlapping test windows
    tested = np.concatenate([np.arange(f.test_start, f.test_stop) for f in out])
    assert len(tested) == len(set(tested.tolist()))


def test_train_fraction_sets_the_train_share_of_each_fold() -> None:
    (only,) = walk_forward_folds(1000, 1, train_fraction=0.7)
    assert (only.train_bars, only.test_bars) == (700, 300)
    four = walk_forward_folds(1000, 4, train_fraction=0.5)
    assert {f.train_bars for f in four} == {200} and {f.test_bars for f in four} == {200}


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((100, 0), {"train_bars": 10}, "folds must be >= 1"),
        ((100, 2), {}, "exactly one of"),
        ((100, 2), {"train_bars": 10, "train_fraction": 0.5}, "exactly one of"),
        ((100, 2), {"train_fraction": 1.0}, r"in \(0, 1\)"),
        ((10, 5), {"train_bars": 5}, "each needs at least 2"),
        ((100, 2), {"train_bars": 100}, "0 test bars"),
    ],
)
def test_bad_fold_specs_are_clear_errors(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        walk_forward_folds(*args, **kwargs)


def test_stitched_equity_compounds_and_is_continuous() -> None:
    cash = 100.0
    a = np.array([100.0, 110.0, 120.0])
    b = np.array([99.0, 90.0, 150.0])
    c = np.array([100.0, 100.0])
    out = stitch_equity([a, b, c], cash)
    assert out.tolist() == pytest.approx([100, 110, 120, 118.8, 108, 180, 180, 180])
    # Each boundary's step equals the new window's own first-bar return from cash.
    assert out[3] / out[2] == pytest.approx(b[0] / cash)
    assert out[-1] / cash == pytest.approx((a[-1] / cash) * (b[-1] / cash) * (c[-1] / cash))


def test_run_case_matches_run_backtest_bit_for_bit(btc_1h_small) -> None:
    risk = backtest_risk_config()
    window = btc_1h_small[500:2500]
    params = {"fast": "5", "slow": "20", "size": "0.3"}
    reference = run_backtest(
        BacktestRequest(data="x", strategy="sma_cross", params=params, progress=False),
        risk,
        bars=window,
    )
    got = run_case(btc_1h_small, case_setup(REQUEST, risk=risk), params, 500, 2500, detail=True)
    assert got["final_equity"] == str(reference.result.final_equity)
    assert np.array_equal(got["equity"], reference.result.equity)
    assert [(t[0], t[1], float(t[2]), float(t[3]), float(t[4])) for t in got["fills"]] == [
        (t["ts"], t["side"], t["qty"], t["price"], t["fee"]) for t in reference.document["trades"]
    ]
    assert got["trades"] > 10
    assert got["metrics"]["sharpe"] == reference.metrics["sharpe"]
    assert set(got["metrics"]) == set(_METRIC_NAMES)


def test_grid_reports_every_case_the_best_and_failures(btc_1h_small, tmp_path: Path) -> None:
    bars = btc_1h_small[:1500]
    setup = case_setup(REQUEST, risk=backtest_risk_config())
    grid = parse_sweep(["fast=5,40", "slow=20,60"])  # fast=40, slow=20 is invalid
    report = run_grid(bars, setup, grid, LocalExecutor(bars, setup), {"size": "0.2"}, "sharpe")
    assert len(report.runs) == 4
    (failure,) = report.failures
    assert failure["params"] == {"size": "0.2", "fast": "40", "slow": "20"}
    assert "fast (40) must be < slow (20)" in failure["error"]
    ok = [r for r in report.runs if r["status"] == "ok"]
    assert report.best is not None
    assert report.best["metrics"]["sharpe"] == max(r["metrics"]["sharpe"] for r in ok)
    report.write_json(tmp_path / "sweep.json")
    report.write_html(tmp_path / "sweep.html")
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["kind"] == "grid" and len(doc["runs"]) == 4 and len(doc["failures"]) == 1
    page = (tmp_path / "sweep.html").read_text()
    assert '"type":"heatmap"' in page
    assert "fast (40) must be &lt; slow (20)" in page


def test_unknown_select_metric_fails_before_running(btc_1h_small) -> None:
    setup = case_setup(REQUEST, risk=backtest_risk_config())

    def never(specs):  # the metric check comes first
        raise AssertionError("executor called")

    with pytest.raises(SweepError, match="unknown metric 'sharp'"):
        run_grid(btc_1h_small, setup, [{}], never, select_by="sharp")


def test_walk_forward_picks_per_fold_and_stitches_oos(btc_1h_small, tmp_path: Path) -> None:
    bars = btc_1h_small[:2400]
    setup = case_setup(REQUEST, risk=backtest_risk_config())
    grid = parse_sweep(["fast=5,10", "slow=20,50"])
    folds = walk_forward_folds(len(bars), 3, train_fraction=0.5)
    executor = LocalExecutor(bars, setup)
    report = run_walk_forward(bars, setup, grid, folds, executor, {"size": "0.2"}, "total_return")
    assert len(report.folds) == 3
    for f, row in zip(folds, report.folds, strict=True):
        train = [r for r in report.runs if r["phase"] == "train" and r["fold"] == f.index]
        assert {(r["start"], r["stop"]) for r in train} == {(f.train_start, f.train_stop)}
        best = max(train, key=lambda r: r["metrics"]["total_return"])
        assert row["params"] == best["params"]
        (test,) = [r for r in report.runs if r["phase"] == "test" and r["fold"] == f.index]
        assert (test["start"], test["stop"]) == (f.test_start, f.test_stop)
        assert test["params"] == best["params"]
    assert report.oos is not None
    equity = np.array(report.oos["equity"])
    assert len(equity) == len(report.oos["ts"]) == folds[-1].test_stop - folds[0].test_start
    # The OOS total return is the product of the test windows' returns.
    growth = np.prod([1 + r["test_metrics"]["total_return"] for r in report.folds])
    assert report.oos["metrics"]["total_return"] == pytest.approx(growth - 1, rel=1e-12)
    report.write_html(tmp_path / "wf.html")
    page = (tmp_path / "wf.html").read_text()
    assert "Out-of-sample equity" in page and '"type":"scattergl"' in page
