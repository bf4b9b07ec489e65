"""``sigmax backtest``: one strategy over one data set, or over several symbols in one
account (repeated ``--data``/``--symbol`` pairs), metrics table and reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sigmax.backtest.runner import BacktestOutcome, BacktestRequest, run_backtest, save_reports
from sigmax.cli.params import pair_data_symbols, parse_pairs
from sigmax.config import get_settings
from sigmax.data import DataError
from sigmax.strategies import StrategyError

console = Console()
err_console = Console(stderr=True)


def _decimal(value: str, option: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"not a number: {value!r}", param_hint=option) from None
    if not number.is_finite() or number < 0:
        raise typer.BadParameter(f"must be a finite number >= 0, got {value}", param_hint=option)
    return number


def _cost(value: str | None, option: str, paper_default: Decimal) -> Decimal:
    """A cost option in bps; not given: what the paper exchange charges."""
    return paper_default if value is None else _decimal(value, option)


DEFAULT_DATA = "bundled:BTC-USD-1h"


def backtest(
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="bundled:NAME or a CSV/Parquet path; repeat it, each with a --symbol, "
            f"for a portfolio [default: {DEFAULT_DATA}]"
        ),
    ] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option(help="symbol, e.g. BTC/USD; one per --data, paired in order"),
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="bar size, e.g. 1h; coarser resamples")
    ] = None,
    strategy: Annotated[
        str,
        typer.Option(
            help="sigmax (agent graph), sma_cross, rl_policy, PATH.py:ClassName or "
            "module:ClassName (docs/STRATEGIES.md)"
        ),
    ] = "sigmax",
    param: Annotated[
        list[str] | None, typer.Option(help="strategy parameter k=v (repeatable)")
    ] = None,
    cash: Annotated[
        str | None, typer.Option(help="starting cash [default: SIGMAX_BACKTEST__CASH, 10000]")
    ] = None,
    fee_bps: Annotated[
        str | None,
        typer.Option(
            help="fee in bps of notional, maker and taker "
            "[default: the paper exchange's taker fee, SIGMAX_PAPER__TAKER_FEE_BPS, 10]"
        ),
    ] = None,
    slippage_bps: Annotated[
        str | None,
        typer.Option(
            help="adverse slippage in bps on market fills "
            "[default: the paper exchange's, SIGMAX_PAPER__SLIPPAGE_BPS, 0]"
        ),
    ] = None,
    spread_bps: Annotated[
        str | None,
        typer.Option(
            help="bid/ask spread in bps, half paid on market fills "
            "[default: the paper exchange's, SIGMAX_PAPER__SPREAD_BPS, 2]"
        ),
    ] = None,
    risk: Annotated[
        list[str] | None, typer.Option(help="risk limit override k=v (repeatable)")
    ] = None,
    allocation: Annotated[
        Path | None,
        typer.Option(
            help="a `sigmax optimize --json` result: its weights scale each symbol's "
            "equity-fraction targets [default: equal weights]"
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the JSON report here")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    fill_gaps: Annotated[bool, typer.Option(help="repair missing bars instead of failing")] = False,
    progress: Annotated[
        bool | None,
        typer.Option(help="progress bar on long runs [default: SIGMAX_BACKTEST__PROGRESS, on]"),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(help="sweep a parameter k=v1,v2,... (repeatable: cartesian grid, on Ray)"),
    ] = None,
    walk_forward: Annotated[
        int | None, typer.Option(help="walk-forward analysis with this many folds (on Ray)")
    ] = None,
    select_by: Annotated[
        str, typer.Option(help="metric that picks the best parameter set")
    ] = "sharpe",
    train_fraction: Annotated[
        float, typer.Option(help="walk-forward: share of each fold's span used for training")
    ] = 0.5,
    ray_address: Annotated[
        str | None, typer.Option(help="sweeps: Ray cluster address (default: local Ray)")
    ] = None,
    persist: Annotated[
        bool,
        typer.Option(
            help="store orders, fills, decisions and audit in PostgreSQL, bars, equity and "
            "metrics in ClickHouse (embedded by default)"
        ),
    ] = False,
    run_id: Annotated[
        str | None, typer.Option(help="name of the stored run (default: generated)")
    ] = None,
) -> None:
    """Backtest a strategy on historical bars; orders fill at the next bar at the earliest."""
    legs = pair_data_symbols(data or [DEFAULT_DATA], symbol or [])
    if (len(legs) > 1 or allocation) and (sweep or walk_forward is not None or persist):
        raise typer.BadParameter(
            "several symbols or an allocation run as a plain backtest only; --sweep, "
            "--walk-forward and --persist take one --data and no --allocation",
            param_hint="--data",
        )
    (first_data, first_symbol), *more = legs
    request = backtest_request(
        first_data,
        first_symbol,
        timeframe,
        strategy,
        CommandCosts(cash, fee_bps, slippage_bps, spread_bps),
        param,
        risk,
        fill_gaps=fill_gaps,
        progress=progress,
        extra_legs=tuple((d, s) for d, s in more if s is not None),
        weights=_allocation_weights(allocation, [s for _, s in legs]),
    )
    if sweep or walk_forward is not None:
        from sigmax.cli.sweep_command import run_sweep_command

        run_sweep_command(
            request,
            risk or [],
            sweep or [],
            walk_forward,
            select_by,
            train_fraction,
            ray_address,
            json_out,
            report,
        )
        return
    try:
        outcome = run_backtest(request)
        save_reports(outcome, json_out, report, float(request.fee_bps))
    except (DataError, StrategyError, ValidationError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    _print_summary(outcome.metrics, outcome.document["meta"], json_out, report)
    if persist:
        _persist(outcome, run_id or f"bt-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid4().hex[:6]}")


@dataclass(frozen=True)
class CommandCosts:
    """The cash and cost options as given on the command line (None: the default)."""

    cash: str | None
    fee_bps: str | None
    slippage_bps: str | None
    spread_bps: str | None


def backtest_request(
    data: str,
    symbol: str | None,
    timeframe: str | None,
    strategy: str,
    costs: CommandCosts,
    param: list[str] | None,
    risk: list[str] | None,
    **more: Any,
) -> BacktestRequest:
    """The run the backtest-like commands ask for: options parsed and checked, costs not
    given are the paper sessions', engine, risk and graph settings from the
    configuration; ``more`` sets the other request fields (legs, weights, progress)."""
    settings = get_settings()
    paper = settings.paper
    return BacktestRequest(
        data=data,
        symbol=symbol,
        timeframe=timeframe,
        strategy=strategy,
        params=parse_pairs(param or [], "--param"),
        cash=None if costs.cash is None else _decimal(costs.cash, "--cash"),
        fee_bps=_cost(costs.fee_bps, "--fee-bps", paper.taker_fee_bps),
        slippage_bps=_cost(costs.slippage_bps, "--slippage-bps", paper.slippage_bps),
        spread_bps=_cost(costs.spread_bps, "--spread-bps", paper.spread_bps),
        risk=parse_pairs(risk or [], "--risk"),
        engine=settings.backtest,
        risk_limits=settings.risk,
        graph=settings.graph,
        **more,
    )


def _allocation_weights(path: Path | None, symbols: list[str | None]) -> dict[str, float]:
    """Each symbol's weight in ``sigmax optimize --json PATH`` (none: equal weights)."""
    if path is None:
        return {}
    from sigmax.portfolio.allocation import weight_from_result

    named = [s for s in symbols if s is not None]
    if len(named) != len(symbols):
        raise typer.BadParameter("--allocation needs a --symbol for each --data")
    try:
        return {s: weight_from_result(path, s) for s in named}
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--allocation") from None


def _persist(outcome: BacktestOutcome, run_id: str) -> None:
    from sigmax.backtest.persist import persist_outcome

    summary = persist_outcome(outcome, run_id)
    pg = summary.postgres
    console.print(
        f"stored run {run_id}: PostgreSQL {pg.orders} orders, {pg.events} order events, "
        f"{pg.fills} fills, {pg.decisions} decisions, {summary.audit_records} audit records; "
        f"{summary.timeseries_backend}: {summary.equity_points} equity points and the bars"
    )


def _print_summary(
    metrics: dict[str, Any], meta: dict[str, Any], json_out: Path | None, report: Path | None
) -> None:
    table = Table(title=f"{meta['strategy']} on {meta['symbol']} {meta['timeframe']}")
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    baseline = metrics["buy_and_hold"]
    for key, value in metrics.items():
        if isinstance(value, dict):
            continue
        table.add_row(key, _fmt(value), _fmt(baseline[key]) if key in baseline else "")
    console.print(table)
    console.print(
        f"{int(metrics['bars'])} bars in {meta['elapsed_s']} s ({meta['bars_per_s']} bars/s)"
    )
    for label, path in (("JSON", json_out), ("HTML report", report)):
        if path is not None:
            console.print(f"{label}: {path}")


def _fmt(value: float) -> str:
    return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
