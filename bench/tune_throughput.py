"""Tune against the grid sweep: backtests per second per CPU on the same space and folds.

For each CPU count a fresh local Ray (``ray.init(address="local", num_cpus=k)``) runs

* the grid sweep's walk-forward (``actors.sweep.run_walk_forward_on_ray``): every grid
  point on every train window, the best on each test window;
* ``sigmax tune`` (``actors.tune.run_tune_on_ray``) over the same points as choices,
  the same folds (no purge, embargo or holdout), early stopping off so every trial
  runs every fold: a train and a test backtest per fold, plus the chosen set's
  in-sample run; once with ``--trials`` and once with three times as many. Their
  difference is the marginal cost of trials, without Tune's start-up (trial workers
  starting and importing SIGMAX), which every search pays once.

A backtest here is one window of ``sma_cross`` (default) over the bundled hourly
BTC/USD series. It prints backtests, wall time, backtests/s and backtests/s per CPU
for both, and checks that every Tune trial's train score equals the sweep's for the
same parameters and fold.

    .venv/bin/python bench/tune_throughput.py [--cpus 1,2] [--trials 16] [--folds 4]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sigmax.backtest.folds import purged_walk_forward  # noqa: E402
from sigmax.backtest.risk_profile import backtest_risk_config  # noqa: E402
from sigmax.backtest.runner import BacktestRequest  # noqa: E402
from sigmax.backtest.sweep import parse_sweep, walk_forward_folds  # noqa: E402
from sigmax.backtest.tuning import parse_space  # noqa: E402
from sigmax.data import load_bars  # noqa: E402
from sigmax.strategies import load_strategy_class  # noqa: E402

SPACE = ["fast=5,10,15,20", "slow=50,100,150,200"]


def measure(k: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    import ray

    from actors.sweep import run_walk_forward_on_ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    bars = load_bars(args.data, None, args.timeframe)
    request = BacktestRequest(
        data=args.data, strategy=args.strategy, params={"size": "0.5"}, progress=False
    )
    risk = backtest_risk_config()
    space = parse_space(SPACE, load_strategy_class(args.strategy).Params, args.strategy)
    plan = purged_walk_forward(len(bars), args.folds, train_fraction=0.5)
    folds = walk_forward_folds(len(bars), args.folds, train_fraction=0.5)
    ray.init(
        address="local", num_cpus=k, include_dashboard=False, log_to_driver=False,
        configure_logging=False,
    )  # fmt: skip
    try:
        grid = parse_sweep(SPACE)
        run_walk_forward_on_ray(  # warm-up: workers start, imports load
            bars[: len(bars) // 10], args.strategy, grid[:k], request,
            walk_forward_folds(len(bars) // 10, 2, train_fraction=0.5), risk_config=risk,
            progress=False,
        )  # fmt: skip
        started = time.perf_counter()
        sweep = run_walk_forward_on_ray(
            bars, args.strategy, grid, request, folds, risk_config=risk, progress=False
        )
        sweep_s = time.perf_counter() - started
        tuned, tune_s = _tune(bars, args, space, request, plan, risk, args.trials)
        more, more_s = _tune(bars, args, space, request, plan, risk, 3 * args.trials)
    finally:
        ray.shutdown()
    train = {
        (r["fold"], tuple(sorted(r["params"].items()))): r["metrics"]["sharpe"]
        for r in sweep.runs
        if r["phase"] == "train"
    }
    agree = all(
        f["train_value"] == train[(f["fold"], tuple(sorted(t["params"].items())))]
        for t in tuned.trials
        for f in t["folds"]
    )
    few = int(tuned.meta["backtests"]) + 1  # + the chosen set's in-sample run
    many = int(more.meta["backtests"]) + 1
    return [
        _row("grid sweep (walk-forward)", k, len(sweep.runs), sweep_s, True),
        _row(f"tune ({args.trials} trials)", k, few, tune_s, agree),
        _row(f"tune ({3 * args.trials} trials)", k, many, more_s, agree),
        # What trials beyond the first cost: the start-up (workers, imports) cancels out.
        _row("tune, marginal", k, many - few, more_s - tune_s, agree),
    ]


def _tune(
    bars: Any, args: argparse.Namespace, space: Any, request: BacktestRequest, plan: Any,
    risk: Any, trials: int,
) -> tuple[Any, float]:  # fmt: skip
    from actors.tune import TuneSettings, run_tune_on_ray

    settings = TuneSettings(trials=trials, metric="sharpe", pbo_blocks=8, early_stop=False)
    started = time.perf_counter()
    report = run_tune_on_ray(
        bars, args.strategy, space, request, plan, risk_config=risk, settings=settings,
        progress=False,
    )  # fmt: skip
    return report, time.perf_counter() - started


def _row(mode: str, k: int, backtests: int, seconds: float, agree: bool) -> dict[str, Any]:
    return {
        "mode": mode,
        "cpus": k,
        "backtests": backtests,
        "wall_s": round(seconds, 2),
        "backtests_per_s": round(backtests / seconds, 2),
        "per_cpu": round(backtests / seconds / k, 2),
        "agrees_with_sweep": agree,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpus", default=f"1,{os.cpu_count() or 1}", help="CPU counts, k1,k2")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--data", default="bundled:BTC-USD-1h")
    parser.add_argument("--timeframe", default=None)
    parser.add_argument("--strategy", default="sma_cross")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    counts = sorted({int(c) for c in args.cpus.split(",")})
    rows = [row for k in counts for row in measure(k, args)]
    table = Table(title=f"{args.strategy} on {args.data}, {args.folds} folds, space {SPACE}")
    for name in ("mode", "cpus", "backtests", "wall_s", "backtests_per_s", "per_cpu", "agree"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
