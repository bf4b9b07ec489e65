"""The embedded time-series store (chdb) on real bundled bars.

chdb runs one embedded server per process on one data dir, so every test closes its
store before the next one opens another directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from sigmax.backtest.persist import persist_timeseries
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.data import DataError, load_bars, resample
from sigmax.model import OHLCV, BarSeries
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.clickhouse_store import (
    ChdbStore,
    ClickHouseServerStore,
    TimeSeriesStoreError,
    open_store,
)

FIELDS = ("ts", *OHLCV)


@pytest.fixture(scope="module")
def btc_1h() -> BarSeries:
    return load_bars("bundled:BTC-USD-1h")


@pytest.fixture
def config(tmp_path: Path) -> ClickHouseConfig:
    return ClickHouseConfig(url=None, data_dir=tmp_path / "ch", database="sx_test")


@pytest.fixture
def store(config: ClickHouseConfig) -> Iterator[ChdbStore]:
    s = ChdbStore(config)
    s.migrate()
    try:
        yield s
    finally:
        s.close()


def assert_same_bars(got: BarSeries, want: BarSeries) -> None:
    assert (got.symbol, got.timeframe, len(got)) == (want.symbol, want.timeframe, len(want))
    for name in FIELDS:
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_store_bars_round_trip_exact_and_idempotent(store: ChdbStore, btc_1h: BarSeries) -> None:
    bars = btc_1h[:5000]
    assert store.insert_bars(bars, source="bundled") == 5000
    assert_same_bars(store.load_bars(bars.symbol, "1h"), bars)
    store.insert_bars(bars, source="bundled")  # again: nothing changes
    store.insert_bars(bars[1000:2000], source="again")
    assert_same_bars(store.load_bars(bars.symbol, "1h"), bars)
    assert len(store.load_bars(bars.symbol, "1d")) == 0
    assert len(store.load_bars("ETH/USD", "1h")) == 0


def test_store_load_bars_time_range(store: ChdbStore, btc_1h: BarSeries) -> None:
    bars = btc_1h[:3000]
    store.insert_bars(bars, source="bundled")
    start, end = int(bars.ts[100]), int(bars.ts[250])
    assert_same_bars(store.load_bars(bars.symbol, "1h", start, end), bars[100:250])
    as_dt = store.load_bars(bars.symbol, "1h", start=datetime.fromtimestamp(start / 1e9, UTC))
    assert_same_bars(as_dt, bars[100:])
    with pytest.raises(ValueError, match="naive datetime"):
        store.load_bars(bars.symbol, "1h", start=datetime(2020, 1, 1))


def test_store_resample_in_database_equals_sigmax_resample(
    store: ChdbStore, btc_1h: BarSeries
) -> None:
    store.insert_bars(btc_1h, source="bundled")
    want = resample(btc_1h, "1d")
    got = store.resample_bars(btc_1h.symbol, "1h", "1d")
    assert (got.symbol, got.timeframe, len(got)) == (want.symbol, "1d", len(want))
    for name in ("ts", "open", "high", "low", "close"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    np.testing.assert_allclose(got.volume, want.volume, rtol=1e-9, atol=0)
    four_h = store.resample_bars(btc_1h.symbol, "1h", "4h")
    assert_same_bars(
        BarSeries(
            four_h.symbol,
            four_h.timeframe,
            four_h.ts,
            four_h.open,
            four_h.high,
            four_h.low,
            four_h.close,
            resample(btc_1h, "4h").volume,
        ),
        resample(btc_1h, "4h"),
    )


def test_store_resample_rejects_inner_gap_and_bad_target(
    store: ChdbStore, btc_1h: BarSeries
) -> None:
    bars = btc_1h[:500]
    keep = np.ones(len(bars), dtype=bool)
    keep[200] = False
    holed = BarSeries(bars.symbol, bars.timeframe, *(getattr(bars, f)[keep] for f in FIELDS))
    store.insert_bars(holed, source="holed")
    with pytest.raises(DataError, match="missing source bars"):
        store.resample_bars(bars.symbol, "1h", "1d")
    with pytest.raises(DataError, match="whole multiple"):
        store.resample_bars(bars.symbol, "1h", "90m")


def test_store_equity_and_metrics(store: ChdbStore) -> None:
    rng = np.random.default_rng(7)
    ts = np.cumsum(rng.integers(1, 10**12, size=10_000)) + 1_600_000_000_123_456_789
    equity, position = rng.normal(10_000, 50, ts.size), rng.normal(0, 1, ts.size)
    assert store.insert_equity("run-a", ts, equity, position) == 10_000
    store.insert_equity("run-a", ts, equity, position)
    frame = store.load_equity("run-a")
    assert np.array_equal(frame["ts_ns"].to_numpy(), ts)
    assert np.array_equal(frame["equity"].to_numpy(), equity)
    assert np.array_equal(frame["position"].to_numpy(), position)
    assert len(store.load_equity("run-b")) == 0
    with pytest.raises(ValueError, match="lengths differ"):
        store.insert_equity("run-a", ts[:5], equity[:4], position[:5])

    store.insert_metrics("run-a", {"sharpe": 1.25, "max_drawdown": -0.2}, ts=1)
    store.insert_metrics("run-a", {"sharpe": 1.5}, ts=2)  # later value wins
    assert store.load_metrics("run-a") == {"sharpe": 1.5, "max_drawdown": -0.2}
    assert store.load_metrics("nope") == {}
    with pytest.raises(ValueError, match="is not a number"):
        store.insert_metrics("run-a", {"bad": "x"})  # type: ignore[dict-item]


def test_store_persist_timeseries(store: ChdbStore, btc_1h: BarSeries) -> None:
    bars = btc_1h[:2000]
    outcome = run_backtest(
        BacktestRequest(data="bundled:BTC-USD-1h", strategy="sma_cross", progress=False),
        bars=bars,
    )
    persist_timeseries(store, outcome.result, "bt-1")
    persist_timeseries(store, outcome.result, "bt-1")
    assert_same_bars(store.load_bars(bars.symbol, "1h"), bars)
    frame = store.load_equity("bt-1")
    assert np.array_equal(frame["equity"].to_numpy(), outcome.result.equity)
    assert np.array_equal(frame["position"].to_numpy(), outcome.result.position)
    metrics = store.load_metrics("bt-1")
    assert metrics["final_equity"] == outcome.metrics["final_equity"]
    assert metrics["sharpe"] == outcome.metrics["sharpe"]
    assert metrics["fills"] == outcome.metrics["fills"]


def test_store_persists_across_reopen_and_reports_health(
    config: ClickHouseConfig, btc_1h: BarSeries
) -> None:
    bars = btc_1h[:1500]
    with ChdbStore(config) as first:
        first.migrate()
        first.insert_bars(bars, source="bundled")
        h = first.health()
        assert h.reachable and h.backend == "chdb" and h.server_version
        assert h.location == str(config.data_dir.resolve())
    with pytest.raises(TimeSeriesStoreError, match="is closed"):
        first.load_bars(bars.symbol, "1h")
    second = open_store(config)
    try:
        assert isinstance(second, ChdbStore)
        second.migrate()  # idempotent on an existing schema
        assert_same_bars(second.load_bars(bars.symbol, "1h"), bars)
    finally:
        second.close()


def test_store_second_process_gets_a_clear_lock_error(
    store: ChdbStore, config: ClickHouseConfig
) -> None:
    child = textwrap.dedent(
        f"""
        from pathlib import Path
        from sigmax.storage.clickhouse_config import ClickHouseConfig
        from sigmax.storage.clickhouse_store import ChdbStore
        try:
            ChdbStore(ClickHouseConfig(data_dir=Path({str(config.data_dir)!r})))
        except Exception as exc:
            print(type(exc).__name__, exc)
        else:
            print("opened")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out.startswith("DataDirLockedError"), out
    assert "is locked by another process" in out
    assert f"PID: {os.getpid()}" in out
    assert store.health().reachable  # the owner is unaffected


def test_store_one_data_dir_per_process(store: ChdbStore, tmp_path: Path) -> None:
    other = ClickHouseConfig(data_dir=tmp_path / "other")
    with pytest.raises(TimeSeriesStoreError, match="one data dir per process"):
        ChdbStore(other)
    assert store.health().reachable


def test_store_server_store_needs_url_and_says_why_it_cannot_connect(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs config.url"):
        ClickHouseServerStore(ClickHouseConfig(url=None))
    from .conftest import free_port

    url = f"http://user:secret@127.0.0.1:{free_port()}"
    config = ClickHouseConfig(url=url, connect_timeout_s=1)
    with pytest.raises(TimeSeriesStoreError, match="cannot connect") as info:
        open_store(config)
    assert "secret" not in str(info.value)
    assert f"http://127.0.0.1:{url.rsplit(':', 1)[1]}" in str(info.value)


def test_store_clickhouse_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_HOME", "/tmp/sigmax-home-test")
    monkeypatch.setenv("SIGMAX_CLICKHOUSE_URL", "http://ch:8123")
    monkeypatch.setenv("SIGMAX_CLICKHOUSE_POOL_SIZE", "4")
    config = ClickHouseConfig()
    assert config.url == "http://ch:8123" and config.pool_size == 4
    assert config.data_dir == Path("/tmp/sigmax-home-test/clickhouse")
    with pytest.raises(ValueError, match="String should match pattern"):
        ClickHouseConfig(database="x; DROP TABLE bars")
