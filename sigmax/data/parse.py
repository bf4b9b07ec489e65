"""Turn a :class:`RawTable` into int64-ns timestamps and float64 OHLCV arrays.

Every cell that cannot be read becomes a :class:`DataError` naming the first bad row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sigmax.data.errors import DataError
from sigmax.data.raw_table import RawTable

FIELDS = ("open", "high", "low", "close", "volume")
_TWELVE_HOUR = re.compile(r"^\d{4}-\d{2}-\d{2} \d{1,2}-(AM|PM)$", re.I)
_EPOCH_UNITS = (("s", 1e11), ("ms", 1e14), ("us", 1e17), ("ns", float("inf")))
_EPOCH_DIGITS = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class ParsedBars:
    """Parsed columns in file order, with each row's line number kept alongside."""

    source: str
    row_label: str
    ts: np.ndarray
    values: dict[str, np.ndarray]
    rows: np.ndarray

    def where(self, i: int) -> str:
        """``file: line N`` for position ``i``."""
        return f"{self.source}: {self.row_label} {int(self.rows[i])}"

    def take(self, order: np.ndarray) -> ParsedBars:
        """The rows at the positions ``order`` (a permutation or a selection)."""
        values = {k: v[order] for k, v in self.values.items()}
        return ParsedBars(self.source, self.row_label, self.ts[order], values, self.rows[order])


def parse_table(table: RawTable) -> ParsedBars:
    """Parse timestamps and numbers; DataError on empty or unreadable cells."""
    frame = table.frame
    _reject_empty_cells(table)
    ts = parse_timestamps(frame["ts"], table)
    values = {name: _parse_numbers(frame[name], name, table) for name in FIELDS}
    return ParsedBars(table.source, table.row_label, ts, values, table.rows)


def _reject_empty_cells(table: RawTable) -> None:
    empty = table.frame.isna().to_numpy()
    if not empty.any():
        return
    row, col = np.argwhere(empty)[0]
    count = int(empty.any(axis=1).sum())
    column = table.frame.columns[col]
    raise DataError(
        f"{table.where(int(row))}: empty or NaN cell in column {column!r} "
        f"({count} row(s) with missing values in all)"
    )


def _parse_numbers(column: pd.Series, name: str, table: RawTable) -> np.ndarray:
    numbers: np.ndarray = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{table.where(i)}: {name} {column.iloc[i]!r} is not a finite number "
            f"({int(bad.sum())} bad {name} value(s) in all)"
        )
    return numbers


def parse_timestamps(column: pd.Series, table: RawTable) -> np.ndarray:
    """int64 ns UTC of a column of datetimes, epoch numbers or date strings."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
    elif pd.api.types.is_numeric_dtype(column):
        parsed = _from_epoch(pd.to_numeric(column), table)
    else:
        parsed = _from_text(column.astype(str).str.strip(), table)
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{table.where(i)}: timestamp {column.iloc[i]!r} cannot be parsed "
            f"({int(bad.sum())} bad timestamp(s) in all)"
        )
    return np.asarray(pd.DatetimeIndex(parsed).as_unit("ns").asi8.copy(), dtype=np.int64)


def _from_text(text: pd.Series, table: RawTable) -> pd.Series:
    first = text.iloc[0] if len(text) else ""
    if _TWELVE_HOUR.match(first):
        return pd.to_datetime(text, format="%Y-%m-%d %I-%p", utc=True, errors="coerce")
    if _EPOCH_DIGITS.match(first):
        numbers = pd.to_numeric(text, errors="coerce")
        return _from_epoch(numbers, table)
    return pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")


def _from_epoch(numbers: pd.Series, table: RawTable) -> pd.Series:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told by magnitude."""
    finite = numbers[np.isfinite(numbers)]
    if finite.empty:
        return pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns, UTC]")
    magnitude = float(np.abs(finite).max())
    unit = next(u for u, top in _EPOCH_UNITS if magnitude < top)
    return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")
