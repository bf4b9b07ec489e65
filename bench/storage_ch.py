"""Insert throughput of the embedded time-series store (chdb).

Inserts the 20,111 bundled BTC-USD 1h bars and 1,000,000 synthetic equity rows into
a fresh chdb data dir, a few times each, and prints rows/s (best and median), plus
how fast the bars load back. Run: ``.venv/bin/python bench/storage_ch.py``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sigmax.data import load_bars
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.clickhouse_store import ChdbStore

REPEATS = 5
EQUITY_ROWS = 1_000_000


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def report(label: str, rows: int, seconds: list[float]) -> None:
    best, median = min(seconds), statistics.median(seconds)
    print(
        f"{label:<34} {rows:>9,} rows  best {rows / best:>12,.0f} rows/s  "
        f"median {rows / median:>12,.0f} rows/s  ({median * 1000:.1f} ms)"
    )


def main() -> None:
    bars = load_bars("bundled:BTC-USD-1h")
    rng = np.random.default_rng(0)
    ts = 1_600_000_000 * 10**9 + np.arange(EQUITY_ROWS, dtype=np.int64) * 60 * 10**9
    equity = 10_000 * np.cumprod(1 + rng.normal(0, 1e-3, EQUITY_ROWS))
    position = rng.normal(0, 1, EQUITY_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        store = ChdbStore(ClickHouseConfig(data_dir=Path(tmp) / "ch"))
        try:
            store.migrate()
            report(
                "insert bars (bundled BTC-USD 1h)",
                len(bars),
                timed(lambda: store.insert_bars(bars, "bundled")),
            )
            runs = iter(range(REPEATS))
            report(
                "insert equity (synthetic)",
                EQUITY_ROWS,
                timed(lambda: store.insert_equity(f"run-{next(runs)}", ts, equity, position)),
            )
            report(
                "load bars (FINAL)",
                len(bars),
                timed(lambda: store.load_bars(bars.symbol, bars.timeframe)),
            )
            report(
                "resample 1h -> 1d in database",
                len(bars),
                timed(lambda: store.resample_bars(bars.symbol, "1h", "1d")),
            )
        finally:
            store.close()


if __name__ == "__main__":
    main()
