"""Incremental OHLCV download from an exchange through ccxt into a Parquet file.

A second run resumes after the file's last bar; overlapping bars are de-duplicated
(the exchange's newer copy wins), the merged series is validated and written
atomically. Only closed bars are kept: the still-forming current bar is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pandas as pd
from rich.progress import Progress

from sigmax.data.errors import DataError
from sigmax.data.parquet_store import write_parquet
from sigmax.data.parse import parse_table
from sigmax.data.readers import read_table
from sigmax.data.series_check import check_series
from sigmax.data.timeframes import timeframe_ns
from sigmax.data.validate import check_bars
from sigmax.model import BarSeries
from sigmax.paths import sigmax_home

_MS = 1_000_000  # nanoseconds per millisecond


@dataclass(frozen=True)
class DownloadResult:
    """What one download run did to its Parquet file."""

    path: Path
    symbol: str
    timeframe: str
    fetched: int  # closed bars the exchange returned in this run
    added: int  # bars the file did not hold before
    rows: int  # bars in the file now
    first_ts: datetime | None
    last_ts: datetime | None
    missing_bars: int  # bars absent inside the stored range (exchange gaps)
    pages: int


def default_dest(exchange_id: str, symbol: str, timeframe: str) -> Path:
    """``$SIGMAX_HOME/data/<exchange>/<BASE-QUOTE>-<tf>.parquet``."""
    safe = symbol.replace("/", "-").replace(":", "-")
    return sigmax_home() / "data" / exchange_id / f"{safe}-{timeframe}.parquet"


def make_exchange(exchange_id: str) -> ccxt.Exchange:
    """A public (no keys) ccxt exchange with ccxt's rate limiter on."""
    klass = getattr(ccxt, exchange_id, None)
    if klass is None or not isinstance(klass, type):
        raise DataError(f"exchange {exchange_id!r} is not known to ccxt")
    return klass({"enableRateLimit": True})


def to_ms(when: datetime | str | int) -> int:
    """Epoch milliseconds of a datetime, ISO string or epoch-ms int (naive = UTC)."""
    if isinstance(when, int):
        return when
    try:
        stamp = pd.Timestamp(when)
    except ValueError as exc:
        raise DataError(f"cannot read {when!r} as a date/time") from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // _MS)


def download_ohlcv(
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since: datetime | str | int,
    dest: Path | None = None,
    *,
    exchange: ccxt.Exchange | None = None,
    until: datetime | str | int | None = None,
    progress: bool = True,
    page_limit: int = 1000,
) -> DownloadResult:
    """Fetch closed ``symbol`` bars from ``since`` (to ``until``, exclusive) into ``dest``."""
    ex = exchange if exchange is not None else make_exchange(exchange_id)
    _check_market(ex, exchange_id, symbol, timeframe)
    path = dest if dest is not None else default_dest(exchange_id, symbol, timeframe)
    tf_ms = timeframe_ns(timeframe) // _MS
    old = _read_existing(path, symbol, timeframe)
    start = to_ms(since)
    if len(old) and start >= old.ts[0] // _MS:
        start = max(start, int(old.ts[-1] // _MS) + tf_ms)
    end = min(to_ms(until) if until is not None else 2**62, int(ex.milliseconds()) - tf_ms + 1)
    rows, pages = _fetch_pages(ex, symbol, timeframe, start, end, tf_ms, page_limit, progress)
    new = _as_series(rows, symbol, timeframe, f"{exchange_id} {symbol}")
    merged = _merge(old, new)
    check_series(merged, str(path), allow_gaps=True)
    if len(new):
        write_parquet(merged, path)
    return _result(path, merged, old, new, pages)


def _check_market(ex: ccxt.Exchange, exchange_id: str, symbol: str, timeframe: str) -> None:
    ex.load_markets()
    if symbol not in ex.markets:
        raise DataError(f"{exchange_id}: no market {symbol!r}")
    if ex.timeframes and timeframe not in ex.timeframes:
        raise DataError(
            f"{exchange_id}: timeframe {timeframe!r} not offered; "
            f"offered: {', '.join(ex.timeframes)}"
        )


def _fetch_pages(
    ex: ccxt.Exchange,
    symbol: str,
    timeframe: str,
    start: int,
    end: int,
    tf_ms: int,
    page_limit: int,
    progress: bool,
) -> tuple[list[list[Any]], int]:
    """Page through ``fetch_ohlcv`` from ``start`` until ``end`` (exclusive) or no more data."""
    rows: list[list[Any]] = []
    pages, cursor = 0, start
    total = max((end - start) // tf_ms, 0)
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"{ex.id} {symbol} {timeframe}", total=total)
        while cursor < end:
            page = ex.fetch_ohlcv(symbol, timeframe, since=cursor, limit=page_limit)
            pages += 1
            page = [r for r in page if cursor <= r[0] < end]
            if not page:
                break
            rows.extend(page)
            bar.advance(task, len(page))
            cursor = int(page[-1][0]) + tf_ms
    return rows, pages


def _as_series(rows: list[list[Any]], symbol: str, timeframe: str, source: str) -> BarSeries:
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    frame = frame.drop_duplicates("ts", keep="last").sort_values("ts")
    frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="ms", utc=True)
    frame = frame.astype({c: "float64" for c in ("open", "high", "low", "close", "volume")})
    series = BarSeries.from_frame(frame, symbol, timeframe)
    check_series(series, source, allow_gaps=True)
    return series


def _read_existing(path: Path, symbol: str, timeframe: str) -> BarSeries:
    if not path.exists():
        return _as_series([], symbol, timeframe, str(path))
    table = read_table(path, symbol)
    checked = check_bars(parse_table(table), timeframe, allow_gaps=True)
    v = checked.bars.values
    return BarSeries(
        symbol, timeframe, checked.bars.ts, v["open"], v["high"], v["low"], v["close"], v["volume"]
    )


def _merge(old: BarSeries, new: BarSeries) -> BarSeries:
    """Union by timestamp; where both hold a bar, the newly fetched one wins."""
    both = pd.concat([old.to_frame(), new.to_frame()])
    both = both[~both.index.duplicated(keep="last")].sort_index()
    return BarSeries.from_frame(both, new.symbol, new.timeframe)


def _result(
    path: Path, merged: BarSeries, old: BarSeries, new: BarSeries, pages: int
) -> DownloadResult:
    tf = timeframe_ns(merged.timeframe)
    missing = int((np.diff(merged.ts) // tf - 1).sum()) if len(merged) > 1 else 0
    return DownloadResult(
        path=path,
        symbol=merged.symbol,
        timeframe=merged.timeframe,
        fetched=len(new),
        added=len(merged) - len(old),
        rows=len(merged),
        first_ts=merged.bar(0).ts if len(merged) else None,
        last_ts=merged.bar(len(merged) - 1).ts if len(merged) else None,
        missing_bars=missing,
        pages=pages,
    )
