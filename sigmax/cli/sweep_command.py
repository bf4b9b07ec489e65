"""``sigmax backtest --sweep/--walk-forward``: a grid or walk-forward on Ray, printed as tables.

Everything that can be wrong with the request (grid, folds, metric, strategy name,
data) is checked here before Ray starts; ``actors.sweep`` (and so Ray) is imported
only once a sweep really runs, so importing ``sigmax`` never imports Ray.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest
from sigmax.backtest.sweep import (
    LOWER_IS_BETTER,
    SweepReport,
    check_metric,
    merge_params,
    parse_sweep,
    walk_forward_folds,
)
from sigmax.cli.params import parse_pairs
from sigmax.data import DataError, load_bars
from sigmax.strategies import StrategyError, load_strategy_class

console = Console()
err_console = Console(stderr=True)

SHOWN_ROWS = 30
_COLUMNS = ("total_return", "sharpe", "max_drawdown", "round_trips")


def run_sweep_command(
    request: BacktestRequest,
    risk: list[str],
    sweep: list[str],
    walk_forward: int | None,
    select_by: str,
    train_fraction: float,
    ray_address: str | None,
    json_out: Path | None,
    report_path: Path | None,
) -> None:
    """Run the sweep or walk-forward of the ``backtest`` command's options; exit 1 on failures."""
    try:
        grid = parse_sweep(sweep)
        for case in grid:
            merge_params(request.params, case)
        check_metric(select_by)
        load_strategy_class(request.strategy)  # a bad spec fails here, before Ray starts
        risk_config = backtest_risk_config(parse_pairs(risk, "--risk"), request.risk_limits)
        bars = load_bars(
            request.data, request.symbol, request.timeframe, fill_gaps=request.fill_gaps
        )
        folds = (
            walk_forward_folds(len(bars), walk_forward, train_fraction=train_fraction)
            if walk_forward is not None
            else None
        )
        from actors.sweep import run_sweep_on_ray, run_walk_forward_on_ray

        progress = request.engine_config().progress

        if folds is None:
            result = run_sweep_on_ray(
                bars, request.strategy, grid, request, ray_address,
                risk_config=risk_config, select_by=select_by, progress=progress,
            )  # fmt: skip
        else:
            result = run_walk_forward_on_ray(
                bars, request.strategy, grid, request, folds, ray_address,
                risk_config=risk_config, select_by=select_by, progress=progress,
            )  # fmt: skip
        if json_out is not None:
            result.write_json(json_out)
        if report_path is not None:
            result.write_html(report_path)
    except (DataError, StrategyError, ValidationError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    print_sweep(result, json_out, report_path)
    if result.failures:
        raise typer.Exit(1)


def print_sweep(report: SweepReport, json_out: Path | None, report_path: Path | None) -> None:
    """The runs (best first), the walk-forward folds and any failed case with its params."""
    meta = report.meta
    metric = meta["select_by"]
    base = set(meta["base_params"])
    ok = [r for r in report.runs if r["status"] == "ok" and r["phase"] != "test"]
    ok.sort(key=lambda r: _rank(r["metrics"][metric], metric), reverse=True)
    columns = list(dict.fromkeys([metric, *_COLUMNS]))
    table = Table(
        title=f"{meta['strategy']} on {meta['symbol']} {meta['timeframe']}: "
        f"{meta['cases']} runs in {meta['elapsed_s']} s on {meta.get('executor', '?')}"
    )
    if report.kind == "walk_forward":
        table.add_column("fold", justify="right")
    table.add_column("params")
    for name in columns:
        table.add_column(name, justify="right")
    for row in ok[:SHOWN_ROWS]:
        cells = [_params(row["params"], base)] + [_fmt(row["metrics"][c]) for c in columns]
        if report.kind == "walk_forward":
            cells.insert(0, str(row["fold"]))
        table.add_row(*cells)
    console.print(table)
    if len(ok) > SHOWN_ROWS:
        console.print(f"(best {SHOWN_ROWS} of {len(ok)} successful runs shown)")
    if report.best is not None:
        best = report.best
        console.print(
            f"best by {metric}: [bold]{_params(best['params'], base)}[/] "
            f"({_fmt(best['metrics'][metric])})"
        )
    if report.kind == "walk_forward" and report.oos is not None:
        folds = Table(title=f"walk-forward: {len(report.folds)} folds, chosen by {metric}")
        for name in ("fold", "test window", "chosen", f"train {metric}", f"test {metric}"):
            folds.add_column(name)
        for f in report.folds:
            folds.add_row(
                str(f["index"]),
                f"{f['test_first_bar'][:16]} → {f['test_last_bar'][:16]}",
                _params(f["params"], base),
                _fmt(f["train_metric"]),
                _fmt(f["test_metric"]),
            )
        console.print(folds)
        oos = report.oos["metrics"]
        console.print(
            "out of sample (stitched): "
            + ", ".join(f"{k} {_fmt(oos[k])}" for k in ("total_return", "sharpe", "max_drawdown"))
        )
    for failure in report.failures:
        err_console.print(
            f"[bold red]failed:[/] {failure['phase']}"
            + ("" if failure["fold"] is None else f" fold {failure['fold']}")
            + f" {_params(failure['params'], set())}: "
            f"{failure['error']}"
        )
    for label, path in (("JSON", json_out), ("HTML report", report_path)):
        if path is not None:
            console.print(f"{label}: {path}")


def _rank(value: float, metric: str) -> float:
    if math.isnan(value):
        return -math.inf
    return -value if metric in LOWER_IS_BETTER else value


def _params(params: dict[str, Any], hide: set[str]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if k not in hide) or "(fixed params)"


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
