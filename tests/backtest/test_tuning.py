"""The pure parts of ``sigmax tune`` (no Ray): purged, embargoed folds with a holdout,
the ``--space`` parser checked against a strategy's Params, and one trial's folds."""

from __future__ import annotations

import numpy as np
import pytest

from sigmax.backtest.folds import purged_walk_forward
from sigmax.backtest.runner import BacktestRequest
from sigmax.backtest.sweep import SweepError, case_setup, run_case, walk_forward_folds
from sigmax.backtest.tuning import TuneError, parse_space, run_trial, window_returns
from sigmax.data import load_bars
from sigmax.strategies.agent_graph import AgentGraphParams
from sigmax.strategies.sma_cross import SmaCrossParams


@pytest.mark.parametrize("anchored", [False, True])
def test_without_gaps_the_folds_are_the_sweeps(anchored: bool) -> None:
    plan = purged_walk_forward(1000, 4, train_fraction=0.5, anchored=anchored)
    assert plan.folds == tuple(walk_forward_folds(1000, 4, train_fraction=0.5, anchored=anchored))
    assert not plan.has_holdout and plan.tuning_stop == 1000


def test_purge_embargo_and_holdout_leave_their_gaps() -> None:
    plan = purged_walk_forward(
        2000, 4, train_fraction=0.5, purge=12, embargo=30, holdout_fraction=0.2
    )
    folds = plan.folds
    for f in folds:
        assert f.test_start - f.train_stop == 12  # purge between train and test
        assert f.train_bars == folds[0].train_bars  # rolling windows keep their length
    for a, b in zip(folds, folds[1:], strict=False):
        assert b.test_start - a.test_stop == 30  # embargo after each test window
    assert plan.holdout_start == folds[-1].test_stop + 30  # the larger gap
    assert plan.holdout_stop == 2000 and 2000 - plan.holdout_start == 400
    assert plan.validation_bars == sum(f.test_bars for f in folds)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purge": -1}, "purge must be a whole number of bars >= 0"),
        ({"embargo": 2.5}, "embargo must be a whole number"),
        ({"holdout_fraction": 1.0}, r"holdout_fraction must be in \[0, 1\)"),
        ({"purge": 200, "embargo": 50}, "leave 0 for 3 folds .* use fewer folds or smaller gaps"),
    ],
)
def test_bad_fold_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        purged_walk_forward(300, 3, train_fraction=0.5, **kwargs)


def test_space_forms_parse_against_the_params_model() -> None:
    space = parse_space(
        ["fast=2:20", "slow=30:120:10", "size=0.1:2.0:log"], SmaCrossParams, "sma_cross"
    )
    assert (space["fast"].kind, space["fast"].low, space["fast"].high) == ("int", 2, 20)
    assert space["slow"].step == 10 and space["slow"].contains("80")
    assert not space["slow"].contains("85") and not space["fast"].contains("21")
    assert space["size"].kind == "float" and space["size"].log
    choice = parse_space(["fast=5,10"], SmaCrossParams, "sma_cross")["fast"]
    assert choice.choices == ("5", "10") and choice.describe() == "5,10"
    # The agent graph's params are optional overrides (float | None): ranges still work.
    graph = parse_space(["min_confidence=0.05:0.5"], AgentGraphParams, "sigmax")
    assert graph["min_confidence"].kind == "float"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["nope=1:5"], "strategy sma_cross has no parameter 'nope' .*fast, size, slow"),
        (["fast=10:10"], "empty range '10:10'"),
        (["fast=20:10"], "empty range"),
        (["fast="], "fast: empty range"),
        (["fast=1.5:4"], "'1.5' is not an integer"),
        (["fast=0:10"], "LOW 0 is not a valid fast .*greater than or equal to 1"),
        (["fast=5"], "one value is not a search"),
        (["fast=5,5,6"], "repeated"),
        (["fast=2:20", "fast=3:9"], "given twice"),
        (["size=0:1:log"], "log range needs LOW > 0"),
        (["slow=30:100:8"], "not a whole number of STEPs"),
        ([], "nothing to search"),
    ],
)
def test_bad_space_is_refused_naming_the_parameter(items: list[str], message: str) -> None:
    with pytest.raises(TuneError, match=message):
        parse_space(items, SmaCrossParams, "sma_cross")


def test_a_searched_parameter_cannot_also_be_fixed() -> None:
    with pytest.raises(TuneError, match="'fast' is also fixed by --param"):
        parse_space(["fast=2:9"], SmaCrossParams, "sma_cross", {"fast": "3"})


def test_a_trial_reports_the_running_mean_of_its_test_windows() -> None:
    bars = load_bars("bundled:BTC-USD-1h", "BTC/USD", "1h")[:1200]
    setup = case_setup(BacktestRequest(data="x", strategy="sma_cross", progress=False))
    params = {"fast": "5", "slow": "30", "size": "0.2"}
    plan = purged_walk_forward(len(bars), 3, train_fraction=0.5, purge=5, embargo=5)
    results = list(run_trial(bars, setup, params, plan, "sortino", 4))
    assert [r["fold"] for r in results] == [0, 1, 2] and results[-1]["complete"]
    tests = []
    for f, r in zip(plan.folds, results, strict=True):
        test = run_case(bars, setup, params, f.test_start, f.test_stop, detail=True)
        train = run_case(bars, setup, params, f.train_start, f.train_stop)
        assert r["test_value"] == test["metrics"]["sortino"]
        assert r["train_value"] == train["metrics"]["sortino"]
        tests.append(test)
        assert r["objective"] == pytest.approx(np.mean([t["metrics"]["sortino"] for t in tests]))
    cash = float(setup["engine"]["cash"])
    returns = np.concatenate([window_returns(t["equity"], cash) for t in tests])
    assert results[-1]["sr_count"] == returns.size == plan.validation_bars
    assert results[-1]["sr_sum"] == pytest.approx(returns.sum())
    assert np.asarray(results[-1]["block_sums"])[:, 0].sum() == returns.size
