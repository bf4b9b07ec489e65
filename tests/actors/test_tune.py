"""``sigmax tune`` on the test session's Ray: Tune and the grid sweep give the same number
for the same parameters and window; a user strategy's Params are searched (docs/TUNE.md's
command, run as written); bad input stops before anything runs."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.backtest.folds import purged_walk_forward
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest
from sigmax.backtest.sweep import (
    CaseSpec,
    LocalExecutor,
    case_setup,
    parse_sweep,
    run_walk_forward,
    walk_forward_folds,
)
from sigmax.backtest.tuning import parse_space
from sigmax.cli import app
from sigmax.data import load_bars
from sigmax.model import BarSeries
from sigmax.strategies.sma_cross import SmaCrossParams

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = BacktestRequest(
    data="bundled:BTC-USD-1h", strategy="sma_cross", params={"size": "0.25"}, progress=False
)
runner = CliRunner()


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    return load_bars("bundled:BTC-USD-1h", "BTC/USD", "1h")[:1500]


def test_tune_and_the_grid_sweep_agree_on_the_same_points(
    ray_cluster: Any, bars: BarSeries
) -> None:
    from actors.tune import TuneSettings, run_tune_on_ray

    risk = backtest_risk_config()
    space = parse_space(["fast=5,10", "slow=30,60"], SmaCrossParams, "sma_cross", TEMPLATE.params)
    # No gaps, no holdout: the folds are the sweep's walk-forward folds.
    plan = purged_walk_forward(len(bars), 3, train_fraction=0.5)
    folds = walk_forward_folds(len(bars), 3, train_fraction=0.5)
    assert plan.folds == tuple(folds)
    settings = TuneSettings(trials=6, metric="sortino", pbo_blocks=4, early_stop=False)
    report = run_tune_on_ray(
        bars, "sma_cross", space, TEMPLATE, plan, risk_config=risk, settings=settings,
        progress=False,
    )  # fmt: skip
    setup = case_setup(TEMPLATE, "sma_cross", risk)
    grid = parse_sweep(["fast=5,10", "slow=30,60"])
    sweep = run_walk_forward(
        bars, setup, grid, folds, LocalExecutor(bars, setup), TEMPLATE.params, "sortino"
    )
    train_rows = {
        (r["fold"], tuple(sorted(r["params"].items()))): r
        for r in sweep.runs
        if r["phase"] == "train"
    }
    executor = LocalExecutor(bars, setup)
    trials = report.trials
    assert len(trials) == 6 and all(t["status"] == "complete" for t in trials)
    for trial in trials:
        key = tuple(sorted(trial["params"].items()))
        specs = [CaseSpec(dict(trial["params"]), f.test_start, f.test_stop) for f in folds]
        tests = executor(specs)
        for f, row, test in zip(folds, trial["folds"], tests, strict=True):
            # In sample: the sweep's train run of the same params on the same window.
            assert row["train_value"] == train_rows[(f.index, key)]["metrics"]["sortino"]
            assert row["train_metrics"] == train_rows[(f.index, key)]["metrics"]
            # Test window: the sweep's executor on the same params and window.
            assert test.data is not None
            assert row["test_value"] == test.data["metrics"]["sortino"]
    best = max(trials, key=lambda t: t["objective"])
    assert report.best["params"] == best["params"]
    assert report.best["objective"] == best["objective"]
    assert report.meta["executor"] == "ray tune" and report.out_of_sample is None
    assert report.pbo["trials"] == 6 and 0.0 <= report.pbo["pbo"] <= 1.0
    assert report.dsr["trials"] == 6 and 0.0 <= report.dsr["dsr"] <= 1.0


@pytest.mark.slow  # each failed trial costs a fresh trial worker (imports)
def test_a_combination_the_model_refuses_fails_that_trial_alone(
    ray_cluster: Any, bars: BarSeries
) -> None:
    from actors.tune import TuneSettings, run_tune_on_ray

    # fast=40 is never below slow: those trials fail when the strategy is built.
    space = parse_space(["fast=5,40", "slow=30,35"], SmaCrossParams, "sma_cross")
    plan = purged_walk_forward(len(bars), 2, train_fraction=0.5, holdout_fraction=0.2)
    settings = TuneSettings(trials=6, pbo_blocks=4, early_stop=False)
    report = run_tune_on_ray(
        bars, "sma_cross", space, TEMPLATE, plan, settings=settings, progress=False
    )
    assert report.failures and report.best["params"]["fast"] == "5"
    for failure in report.failures:
        assert failure["params"]["fast"] == "40" and failure["folds_run"] == 0
        assert "StrategyError" in failure["error"] and "must be < slow" in failure["error"]
    assert report.counts()["failed"] == len(report.failures)
    assert report.counts()["complete"] == 6 - len(report.failures)


def _doc_command() -> list[str]:
    """docs/TUNE.md's ``sigmax tune`` command, continuation lines joined."""
    text = (REPO / "docs" / "TUNE.md").read_text(encoding="utf-8").replace("\\\n", " ")
    (line,) = [ln for ln in text.splitlines() if ln.startswith(".venv/bin/sigmax tune ")]
    return shlex.split(line)[2:]


@pytest.mark.slow
def test_docs_command_tunes_a_user_strategys_params(
    ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/TUNE.md's command: the user's Donchian strategy, its Params searched."""
    monkeypatch.chdir(REPO)  # the strategy path is relative to the repository
    args = [a.replace("/tmp/", f"{tmp_path}/") for a in _doc_command()]
    assert "examples/strategies/donchian_breakout.py:DonchianBreakout" in args
    result = runner.invoke(app, ["tune", *args, "--no-progress"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "tune.json").read_text())
    assert doc["kind"] == "tune" and doc["meta"]["strategy"].endswith(":DonchianBreakout")
    counts = doc["counts"]
    assert counts["trials"] == int(args[args.index("--trials") + 1]) and counts["failed"] == 0
    assert counts["complete"] >= 1
    for trial in doc["trials"]:
        assert trial["status"] in ("complete", "stopped")
        assert (trial["folds_run"] == 3) == (trial["status"] == "complete")
        assert 10 <= int(trial["params"]["entry_bars"]) <= 60
        assert 5 <= int(trial["params"]["exit_bars"]) <= 30
        assert 0.2 <= float(trial["params"]["size"]) <= 1.0
    best = doc["best"]["params"]
    assert set(best) == {"entry_bars", "exit_bars", "size"}
    assert doc["in_sample"]["metrics"]["bars"] > doc["out_of_sample"]["metrics"]["bars"] > 0
    assert doc["out_of_sample"]["window"]["start"] == doc["folds"]["holdout"]["start"]
    assert doc["dsr"]["dsr"] is None or 0.0 <= doc["dsr"]["dsr"] <= 1.0
    assert "pbo" in doc["pbo"]
    page = (tmp_path / "tune.html").read_text()
    assert page.startswith("<!doctype html>") and "Holdout" in page
    assert "deflated Sharpe ratio" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "nope=1:5"], "has no parameter 'nope'"),
        (["--space", "fast=10:10"], "empty range"),
        (["--space", "fast=5:20", "--metric", "luck"], "unknown metric 'luck'"),
        (["--space", "fast=5:20", "--folds", "40", "--purge", "9000"], "use fewer folds"),
    ],
)
def test_bad_input_stops_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    import actors.tune

    def must_not_run(*_: Any, **__: Any) -> None:
        raise AssertionError("the search started despite bad input")

    monkeypatch.setattr(actors.tune, "run_tune_on_ray", must_not_run)
    result = runner.invoke(app, ["tune", "--strategy", "sma_cross", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_the_job_entry_point_parses_the_commands_options() -> None:
    from sigmax.jobs.tune import main

    assert main(["--strategy", "sma_cross", "--space", "fast=3:3"]) == 2
