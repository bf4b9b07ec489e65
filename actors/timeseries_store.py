"""The time-series store (bars, equity, metrics) as a Ray actor.

Embedded chdb locks its data directory: only one process may open it. This actor
is that process; every other actor and job writes and reads through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import ray

from sigmax.backtest.engine import BacktestResult
from sigmax.backtest.persist import persist_timeseries
from sigmax.model import BarSeries
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.clickhouse_store import open_store
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class TimeSeriesStoreActor:
    """Owns one TimeSeriesStore (chdb data directory or ClickHouse server client)."""

    def __init__(self, config_json: str | None = None) -> None:
        config = (
            ClickHouseConfig.model_validate_json(config_json) if config_json else ClickHouseConfig()
        )
        self.store = open_store(config)
        self.store.migrate()

    def insert_bars(self, series: BarSeries, source: str) -> int:
        return self.store.insert_bars(series, source)

    def load_bars(self, symbol: str, timeframe: str) -> BarSeries:
        return self.store.load_bars(symbol, timeframe)

    def resample_bars(self, symbol: str, from_tf: str, to_tf: str) -> BarSeries:
        return self.store.resample_bars(symbol, from_tf, to_tf)

    def insert_equity(
        self, run_id: str, ts_ns: np.ndarray, equity: np.ndarray, position: np.ndarray
    ) -> None:
        self.store.insert_equity(run_id, ts_ns, equity, position)

    def persist_backtest(self, result: BacktestResult, run_id: str) -> None:
        persist_timeseries(self.store, result, run_id)

    def load_equity(self, run_id: str) -> pd.DataFrame:
        return self.store.load_equity(run_id)

    def load_metrics(self, run_id: str) -> dict[str, float]:
        return self.store.load_metrics(run_id)

    def health(self) -> dict[str, Any]:
        health = self.store.health()
        return {"backend": health.backend, "status": health.status, "reachable": health.reachable}

    def close(self) -> None:
        self.store.close()
