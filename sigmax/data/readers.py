"""Read CSV (plain or gzip) and Parquet files into a :class:`RawTable`."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sigmax.data.csv_layouts import TIME_COLUMNS, cut_symbol, is_header, normalise_header
from sigmax.data.errors import DataError
from sigmax.data.raw_table import RawTable
from sigmax.data.symbols import canonical_symbol, same_symbol

PARQUET_META_KEY = b"sigmax"
_MAX_PREAMBLE = 10


def read_table(path: Path, symbol: str | None = None) -> RawTable:
    """Read one symbol's raw bars from a CSV, CSV.gz or Parquet file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".parquet":
        return read_parquet_table(path, symbol)
    if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"]:
        return read_csv_table(path, symbol)
    raise DataError(f"{path}: unsupported file type; expected .csv, .csv.gz or .parquet")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - caller closes


def _header_index(path: Path, handle: io.TextIOBase) -> int:
    """0-based index of the header line; lines before it are comments."""
    for index in range(_MAX_PREAMBLE):
        line = handle.readline()
        if not line:
            break
        if line.lstrip().startswith("#"):
            continue
        if is_header(next(csv.reader([line]), [])):
            return index
    raise DataError(
        f"{path}: no header line with bar columns (open, high, low, close, volume) "
        f"in the first {_MAX_PREAMBLE} lines"
    )


def read_csv_table(path: Path, symbol: str | None = None) -> RawTable:
    """Read a CSV file of any supported layout; every cell stays a string here."""
    try:
        with _open_text(path) as handle:
            header = _header_index(path, handle)
            handle.seek(0)
            for _ in range(header):
                handle.readline()
            frame = pd.read_csv(handle, dtype=str, skip_blank_lines=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read as CSV: {exc}") from exc
    if frame.empty:
        raise DataError(f"{path}: line {header + 2}: no rows after the header")
    # header is 0-based; the first data row sits two lines further down (1-based).
    return cut_symbol(str(path), frame, header + 2, symbol)


def read_parquet_table(path: Path, symbol: str | None = None) -> RawTable:
    """Read a Parquet file with a time column and OHLCV columns (ours or anyone's)."""
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for bad files
        raise DataError(f"{path}: cannot read as Parquet: {exc}") from exc
    meta = _sigmax_meta(table.schema.metadata)
    frame = table.to_pandas()
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index()
    names = {normalise_header(c): c for c in frame.columns}
    ts_col = next((names[n] for n in TIME_COLUMNS if n in names), None)
    missing = [f for f in ("open", "high", "low", "close", "volume") if f not in names]
    if ts_col is None or missing:
        wanted = missing + ([] if ts_col is not None else ["ts"])
        raise DataError(
            f"{path}: missing column(s) {', '.join(wanted)}; found {', '.join(frame.columns)}"
        )
    file_symbol = meta.get("symbol")
    if file_symbol is None and "symbol" in names:
        values = frame[names["symbol"]].dropna().unique()
        file_symbol = str(values[0]) if len(values) == 1 else None
    if symbol is not None and file_symbol is not None and not same_symbol(symbol, file_symbol):
        raise DataError(
            f"{path}: holds {canonical_symbol(file_symbol)}, "
            f"not the requested {canonical_symbol(symbol)}"
        )
    picked = frame[[ts_col, *(names[f] for f in ("open", "high", "low", "close", "volume"))]]
    picked.columns = pd.Index(["ts", "open", "high", "low", "close", "volume"])
    rows = np.arange(1, len(picked) + 1, dtype=np.int64)
    symbol_out = canonical_symbol(file_symbol) if file_symbol else None
    return RawTable(str(path), picked, rows, "row", symbol_out, meta.get("timeframe"))


def _sigmax_meta(metadata: dict[bytes, bytes] | None) -> dict[str, str]:
    if not metadata or PARQUET_META_KEY not in metadata:
        return {}
    import json

    return {str(k): str(v) for k, v in json.loads(metadata[PARQUET_META_KEY]).items()}
