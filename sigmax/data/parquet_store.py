"""Write a :class:`BarSeries` to Parquet atomically, compact (zstd), with its symbol."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sigmax.data.readers import PARQUET_META_KEY
from sigmax.model import OHLCV, BarSeries


def series_to_table(series: BarSeries) -> pa.Table:
    """An Arrow table: ``ts`` timestamp[ns, UTC] then float64 OHLCV, symbol in metadata."""
    columns = {"ts": pa.array(series.ts, type=pa.timestamp("ns", tz="UTC"))}
    columns.update({name: pa.array(getattr(series, name), type=pa.float64()) for name in OHLCV})
    meta = {"symbol": series.symbol, "timeframe": series.timeframe}
    return pa.table(columns).replace_schema_metadata({PARQUET_META_KEY: json.dumps(meta)})


def write_parquet(series: BarSeries, path: Path) -> Path:
    """Write ``series`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(
            series_to_table(series),
            temp,
            compression="zstd",
            compression_level=19,
            use_dictionary=False,  # plain + zstd is the smallest for these price columns
        )
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
