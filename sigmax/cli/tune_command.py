"""``sigmax tune``: a parameter search on Ray Tune (Optuna's sampler, ASHA early
stopping) with a walk-forward objective, reported in and out of sample with the
deflated Sharpe ratio and the probability of backtest overfitting (docs/TUNE.md).

Everything that can be wrong with the request (space, folds, metric, strategy, data)
is checked here before Ray starts; ``actors.tune`` (and so Ray) is imported only once
the search really runs, so importing ``sigmax`` never imports Ray.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sigmax.backtest.folds import purged_walk_forward
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.sweep import check_metric
from sigmax.backtest.tuning import TuneError, TuneReport, check_plan, parse_space
from sigmax.cli.backtest_command import DEFAULT_DATA, CommandCosts, backtest_request
from sigmax.data import DataError, load_bars
from sigmax.strategies import StrategyError, load_strategy_class

console = Console()
err_console = Console(stderr=True)

_SHOWN = ("total_return", "sharpe", "max_drawdown", "turnover_per_year", "fees_paid", "round_trips")


def tune(
    data: Annotated[str, typer.Option(help="bundled:NAME or a CSV/Parquet path")] = DEFAULT_DATA,
    symbol: Annotated[str | None, typer.Option(help="symbol, e.g. BTC/USD")] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="bar size, e.g. 1h; coarser resamples")
    ] = None,
    strategy: Annotated[
        str,
        typer.Option(help="sigmax (agent graph), sma_cross, PATH.py:ClassName or module:ClassName"),
    ] = "sigmax",
    space: Annotated[
        list[str] | None,
        typer.Option(
            help="searched parameter (repeatable): KEY=LOW:HIGH (int or float by the "
            "parameter's type), KEY=LOW:HIGH:log, KEY=LOW:HIGH:STEP or KEY=V1,V2,..."
        ),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="fixed strategy parameter k=v (repeatable)")
    ] = None,
    trials: Annotated[int, typer.Option(help="parameter sets to try", min=1)] = 50,
    folds: Annotated[int, typer.Option(help="walk-forward folds", min=1)] = 4,
    train_fraction: Annotated[
        float, typer.Option(help="share of train in each fold's train+test span")
    ] = 0.5,
    purge: Annotated[
        int, typer.Option(help="bars dropped between each train window and its test window")
    ] = 24,
    embargo: Annotated[
        int, typer.Option(help="bars after each test window that no later test window uses")
    ] = 24,
    holdout: Annotated[
        float,
        typer.Option(help="share of the series at its end kept from the search, for the OOS"),
    ] = 0.25,
    metric: Annotated[
        str, typer.Option(help="metric whose mean over the test windows is the objective")
    ] = "sharpe",
    early_stop: Annotated[
        bool, typer.Option(help="ASHA: stop weak trials after a fold (else run every fold)")
    ] = True,
    grace_folds: Annotated[
        int, typer.Option(help="folds every trial runs before it may be stopped", min=1)
    ] = 1,
    reduction_factor: Annotated[
        float, typer.Option(help="ASHA: keep about 1 in this many trials at each rung", min=2)
    ] = 3.0,
    pbo_blocks: Annotated[
        int, typer.Option(help="CSCV blocks for the PBO (even; C(S, S/2) splits)")
    ] = 16,
    seed: Annotated[int, typer.Option(help="seed of Optuna's TPE sampler")] = 0,
    max_concurrent: Annotated[
        int | None, typer.Option(help="trials at once [default: one per free CPU]", min=1)
    ] = None,
    cash: Annotated[
        str | None, typer.Option(help="starting cash [default: SIGMAX_BACKTEST__CASH, 10000]")
    ] = None,
    fee_bps: Annotated[
        str | None,
        typer.Option(help="fee in bps of notional [default: the paper exchange's taker fee]"),
    ] = None,
    slippage_bps: Annotated[
        str | None, typer.Option(help="slippage in bps [default: the paper exchange's]")
    ] = None,
    spread_bps: Annotated[
        str | None, typer.Option(help="bid/ask spread in bps [default: the paper exchange's]")
    ] = None,
    risk: Annotated[
        list[str] | None, typer.Option(help="risk limit override k=v (repeatable)")
    ] = None,
    fill_gaps: Annotated[bool, typer.Option(help="repair missing bars instead of failing")] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the JSON result here")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address to join (default: local Ray)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="progress bar while trials run")] = True,
) -> None:
    """Search a strategy's parameters on Ray Tune with a purged walk-forward objective."""
    try:
        request = backtest_request(
            data,
            symbol,
            timeframe,
            strategy,
            CommandCosts(cash, fee_bps, slippage_bps, spread_bps),
            param,
            risk,
            fill_gaps=fill_gaps,
            progress=False,
        )
        check_metric(metric)
        cls = load_strategy_class(strategy)  # a bad spec fails here, before Ray starts
        dims = parse_space(space or [], cls.Params, strategy, request.params)
        risk_config = backtest_risk_config(request.risk, request.risk_limits)
        bars = load_bars(data, symbol, timeframe, fill_gaps=fill_gaps)
        plan = purged_walk_forward(
            len(bars), folds, train_fraction=train_fraction, purge=purge, embargo=embargo,
            holdout_fraction=holdout,
        )  # fmt: skip
        check_plan(plan, pbo_blocks)
    except (DataError, StrategyError, ValidationError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None

    from actors.tune import TuneSettings, run_tune_on_ray

    settings = TuneSettings(
        trials=trials, metric=metric, pbo_blocks=pbo_blocks, early_stop=early_stop,
        grace_folds=grace_folds, reduction_factor=reduction_factor, seed=seed,
        max_concurrent=max_concurrent,
    )  # fmt: skip
    try:
        result = run_tune_on_ray(
            bars, strategy, dims, request, plan, address,
            risk_config=risk_config, settings=settings, progress=progress,
        )  # fmt: skip
    except TuneError as exc:
        err_console.print(f"[bold red]no result:[/] {exc}")
        raise typer.Exit(1) from None
    if json_out is not None:
        result.write_json(json_out)
    if report is not None:
        result.write_html(report)
    print_tune(result, json_out, report)


def print_tune(report: TuneReport, json_out: Path | None, html_out: Path | None) -> None:
    """Chosen set, its folds, in sample against out of sample, DSR, PBO and the counts."""
    meta, counts = report.meta, report.counts()
    metric = meta["metric"]
    shown = {k: v for k, v in report.best["params"].items() if k in report.space}
    console.print(
        f"[bold]{meta['strategy']}[/] on {meta['symbol']} {meta['timeframe']}: "
        f"{counts['trials']} trials ({counts['complete']} ran every fold, "
        f"{counts['stopped_early']} stopped early, {counts['failed']} failed), "
        f"{meta['backtests']} backtests in {meta['elapsed_s']} s"
    )
    console.print(
        "chosen: [bold]" + " ".join(f"{k}={v}" for k, v in shown.items()) + "[/] "
        f"(mean test {metric} {_fmt(report.best['objective'])})"
    )
    folds = Table(title=f"folds of the chosen set ({metric})")
    for name in ("fold", "train", "test"):
        folds.add_column(name, justify="right")
    for f in report.best["folds"]:
        folds.add_row(str(f["fold"]), _fmt(f["train_value"]), _fmt(f["test_value"]))
    console.print(folds)
    table = Table(title="chosen set: in sample against out of sample")
    table.add_column("metric")
    table.add_column("in sample (folds' span)", justify="right")
    table.add_column("out of sample (holdout)", justify="right")
    outs = report.out_of_sample["metrics"] if report.out_of_sample else {}
    for name in dict.fromkeys([metric, *_SHOWN]):
        table.add_row(name, _fmt(report.in_sample["metrics"][name]), _fmt(outs.get(name)))
    console.print(table)
    dsr, pbo = report.dsr, report.pbo
    if dsr.get("dsr") is None:
        console.print(f"deflated Sharpe ratio: none ({dsr.get('reason')})")
    else:
        console.print(
            f"deflated Sharpe ratio {_fmt(dsr['dsr'])}: annualised Sharpe "
            f"{_fmt(dsr['sharpe_annualised'])} against "
            f"{_fmt(dsr['expected_max_sharpe_annualised'])} expected from the best of "
            f"{dsr['trials']} unskilled trials"
        )
    if pbo.get("pbo") is None:
        console.print(f"probability of backtest overfitting: none ({pbo.get('reason')})")
    else:
        console.print(
            f"probability of backtest overfitting {_fmt(pbo['pbo'])} "
            f"({pbo['splits']} CSCV splits of {pbo['blocks']} blocks over {pbo['trials']} trials)"
        )
    for failure in report.failures[:5]:
        err_console.print(f"[bold red]failed:[/] {failure['params']}: {failure['error']}")
    if len(report.failures) > 5:
        err_console.print(f"... and {len(report.failures) - 5} more failed trials (see --json)")
    for label, path in (("JSON", json_out), ("HTML report", html_out)):
        if path is not None:
            console.print(f"{label}: {path}")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
