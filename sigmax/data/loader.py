"""``load_bars``: the one entry point that turns a bundled name or a file into bars."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sigmax.data.bundled import PREFIX, bundled_path
from sigmax.data.errors import DataError
from sigmax.data.parse import parse_table
from sigmax.data.readers import read_table
from sigmax.data.resample import resample
from sigmax.data.symbols import canonical_symbol, guess_symbol_from_name
from sigmax.data.timeframes import timeframe_ns
from sigmax.data.validate import check_bars
from sigmax.model import BarSeries


@dataclass(frozen=True)
class LoadReport:
    """Loaded bars and what loading did to them (reversal, sorting, gap filling)."""

    series: BarSeries
    source: str
    native_timeframe: str
    reversed: bool
    rows_reordered: int
    gaps_filled: int


def load_bars(
    source: str,
    symbol: str | None = None,
    timeframe: str | None = None,
    *,
    fill_gaps: bool = False,
    reorder: bool = False,
) -> BarSeries:
    """Bars from ``bundled:NAME`` or a CSV / CSV.gz / Parquet path, validated.

    ``symbol`` (any of ``BTC/USD``, ``BTC-USD``, ``BTCUSD``) picks or checks the symbol;
    ``timeframe`` coarser than the data resamples, finer is an error. ``fill_gaps``
    inserts flat bars for missing ones; ``reorder`` sorts rows that are out of order.
    """
    return load_bars_report(source, symbol, timeframe, fill_gaps=fill_gaps, reorder=reorder).series


def load_bars_report(
    source: str,
    symbol: str | None = None,
    timeframe: str | None = None,
    *,
    fill_gaps: bool = False,
    reorder: bool = False,
) -> LoadReport:
    """Like :func:`load_bars`, also saying what was reversed, sorted or filled."""
    path, label = resolve_source(source)
    table = read_table(path, symbol)
    parsed = parse_table(table)
    if label != str(path):
        parsed = parsed.__class__(label, parsed.row_label, parsed.ts, parsed.values, parsed.rows)
    native_hint = table.timeframe or _given_as_native(parsed.ts, timeframe)
    checked = check_bars(parsed, native_hint, fill_gaps=fill_gaps, reorder=reorder)
    bars = checked.bars
    series = BarSeries(
        _result_symbol(table.symbol, symbol, path),
        checked.timeframe,
        bars.ts,
        *(bars.values[name] for name in ("open", "high", "low", "close", "volume")),
    )
    if timeframe is not None and timeframe_ns(timeframe) != timeframe_ns(checked.timeframe):
        if timeframe_ns(timeframe) < timeframe_ns(checked.timeframe):
            raise DataError(
                f"{label}: holds {checked.timeframe} bars; cannot give the finer {timeframe}"
            )
        series = resample(series, timeframe, label)
    return LoadReport(
        series,
        label,
        checked.timeframe,
        checked.reversed,
        checked.rows_reordered,
        checked.gaps_filled,
    )


def _given_as_native(ts: np.ndarray, timeframe: str | None) -> str | None:
    """The asked timeframe, when it is the data's own bar length (with gaps) and not a
    resampling target: a single bar, or uneven spacings that are all whole multiples."""
    if timeframe is None:
        return None
    steps = np.unique(np.abs(np.diff(ts)))
    if len(ts) < 2 or (len(steps) > 1 and (steps % timeframe_ns(timeframe) == 0).all()):
        return timeframe
    return None


def resolve_source(source: str) -> tuple[Path, str]:
    """The file behind ``source`` and the label errors should name."""
    if source.startswith(PREFIX):
        return bundled_path(source[len(PREFIX) :]), source
    path = Path(source).expanduser()
    return path, str(path)


def _result_symbol(file_symbol: str | None, asked: str | None, path: Path) -> str:
    if file_symbol is not None and "/" in file_symbol:
        return file_symbol
    if asked is not None and "/" in canonical_symbol(asked):
        return canonical_symbol(asked)
    guessed = guess_symbol_from_name(path.name, file_symbol)
    return guessed or file_symbol or (canonical_symbol(asked) if asked else path.stem)
