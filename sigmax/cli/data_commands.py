"""``sigmax data ...``: download, validate, list and resample market data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sigmax.data.bundled import list_bundled
from sigmax.data.download import download_ohlcv
from sigmax.data.errors import DataError
from sigmax.data.loader import load_bars, load_bars_report
from sigmax.data.parquet_store import write_parquet
from sigmax.model import iso_from_ns

app = typer.Typer(
    help="Market data: download, validate, list and resample bars.", no_args_is_help=True
)


def _console() -> Console:
    # made per command so that COLUMNS and output redirection at call time are honoured
    return Console()


def _fail(exc: DataError) -> typer.Exit:
    Console(stderr=True).print(
        f"[bold red]data error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False
    )
    return typer.Exit(code=1)


@app.command()
def download(
    exchange: Annotated[str, typer.Option(help="ccxt exchange id, e.g. binance")],
    symbol: Annotated[str, typer.Option(help="market, e.g. BTC/USDT")],
    timeframe: Annotated[str, typer.Option(help="bar length, e.g. 1h")],
    since: Annotated[str, typer.Option(help="first bar, ISO date/time (UTC)")],
    until: Annotated[str | None, typer.Option(help="stop before this time (UTC)")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Parquet file; default under $SIGMAX_HOME/data/<exchange>/")
    ] = None,
) -> None:
    """Download closed bars incrementally into a Parquet file."""
    try:
        result = download_ohlcv(exchange, symbol, timeframe, since, out, until=until)
    except DataError as exc:
        raise _fail(exc) from exc
    _console().print(
        f"{result.path}: {result.added} new bar(s), {result.rows} in all "
        f"({result.first_ts} to {result.last_ts}; {result.missing_bars} missing inside)"
    )


@app.command()
def validate(
    source: Annotated[str, typer.Argument(help="bundled:NAME or a CSV/Parquet path")],
    symbol: Annotated[str | None, typer.Option(help="symbol to pick or check")] = None,
    timeframe: Annotated[str | None, typer.Option(help="expected bar length")] = None,
    fill_gaps: Annotated[bool, typer.Option(help="insert flat bars for gaps")] = False,
    reorder: Annotated[bool, typer.Option(help="sort out-of-order rows")] = False,
) -> None:
    """Load and check a data source; exit code 1 with the reason when it is bad."""
    try:
        report = load_bars_report(source, symbol, timeframe, fill_gaps=fill_gaps, reorder=reorder)
    except DataError as exc:
        raise _fail(exc) from exc
    series = report.series
    table = Table(title=f"{source}: valid", show_header=False)
    for key, value in (
        ("symbol", series.symbol),
        ("timeframe", series.timeframe),
        ("bars", len(series)),
        ("first", iso_from_ns(series.ts[0])),
        ("last", iso_from_ns(series.ts[-1])),
        ("reversed (newest first)", report.reversed),
        ("rows reordered", report.rows_reordered),
        ("gaps filled", report.gaps_filled),
    ):
        table.add_row(key, str(value))
    _console().print(table)


@app.command("list")
def list_sets() -> None:
    """Show the bundled data sets."""
    table = Table(title="bundled data (load as bundled:NAME)")
    columns = (
        "name",
        "symbol",
        "timeframe",
        "rows",
        "first_ts",
        "last_ts",
        "gaps_filled",
        "licence",
    )  # dates only, licence name only: fits an 80-column terminal
    for column in columns:
        table.add_column(column)
    for entry in list_bundled():
        row = {
            **entry,
            "first_ts": entry["first_ts"][:10],
            "last_ts": entry["last_ts"][:10],
            "licence": entry["licence"].split(" (")[0],
        }
        table.add_row(*(str(row[c]) for c in columns))
    _console().print(table)


@app.command()
def resample(
    source: Annotated[str, typer.Argument(help="bundled:NAME or a CSV/Parquet path")],
    timeframe: Annotated[str, typer.Option(help="target bar length, e.g. 1d")],
    out: Annotated[Path, typer.Option(help="Parquet file to write")],
    symbol: Annotated[str | None, typer.Option(help="symbol to pick or check")] = None,
    fill_gaps: Annotated[bool, typer.Option(help="insert flat bars for gaps first")] = False,
) -> None:
    """Aggregate a source to a coarser timeframe and write it as Parquet."""
    try:
        series = load_bars(source, symbol, timeframe, fill_gaps=fill_gaps)
    except DataError as exc:
        raise _fail(exc) from exc
    write_parquet(series, out)
    _console().print(f"{out}: {len(series)} {series.timeframe} bar(s) of {series.symbol}")
