"""Bars, equity curves and metrics in ClickHouse: a server, or embedded chdb.

:class:`TimeSeriesStore` holds the SQL and the logic; its two backends only run
statements and move data frames:

- :class:`ChdbStore`: ClickHouse inside this process (chdb), persistent on a data
  directory. **One process per data directory**: the embedded server takes a file
  lock on ``<data_dir>/status``, and a second process that opens the same directory
  fails (:class:`DataDirLockedError`, naming the holder's PID). Within one process,
  chdb runs a single embedded server: every store of the process must use the same
  directory (stores on it share the server); another directory needs the first one
  closed. So when several processes need the embedded store (Ray workers, API
  replicas), exactly one owner process opens it (later a Ray actor) and the others
  send their reads and writes to that owner; they never open the directory themselves.
- :class:`ClickHouseServerStore`: a ClickHouse server over HTTP through
  clickhouse-connect with a connection pool of ``pool_size``; any number of
  processes may use it.

Tables (``migrate()`` creates them, idempotently):

- ``bars``: ReplacingMergeTree ORDER BY (symbol, timeframe, ts); reads use FINAL,
  so inserting the same bars again changes nothing (the last insert of a bar wins).
- ``equity`` (run_id, ts, equity, position) and ``metrics`` (run_id, name, value,
  ts): ReplacingMergeTree too, so persisting the same run twice is idempotent.

Timestamps are ``DateTime64(9, 'UTC')``; they go in as UTC datetimes and come back as
int64 nanoseconds (the :class:`~sigmax.model.BarSeries` unit), exactly.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sigmax.data.errors import DataError
from sigmax.data.timeframes import timeframe_name, timeframe_ns
from sigmax.errors import UnavailableError
from sigmax.model import BarSeries
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.pool_metrics import PoolInstruments

SCHEMA: tuple[str, ...] = (
    "CREATE DATABASE IF NOT EXISTS {db}",
    """CREATE TABLE IF NOT EXISTS {db}.bars (
        symbol LowCardinality(String),
        timeframe LowCardinality(String),
        ts DateTime64(9, 'UTC'),
        open Float64,
        high Float64,
        low Float64,
        close Float64,
        volume Float64,
        source LowCardinality(String)
    ) ENGINE = ReplacingMergeTree ORDER BY (symbol, timeframe, ts)""",
    """CREATE TABLE IF NOT EXISTS {db}.equity (
        run_id String,
        ts DateTime64(9, 'UTC'),
        equity Float64,
        position Float64
    ) ENGINE = ReplacingMergeTree ORDER BY (run_id, ts)""",
    """CREATE TABLE IF NOT EXISTS {db}.metrics (
        run_id String,
        name LowCardinality(String),
        value Float64,
        ts DateTime64(9, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY (run_id, name, ts)""",
)

BAR_COLUMNS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "source")
EQUITY_COLUMNS = ("run_id", "ts", "equity", "position")
METRIC_COLUMNS = ("run_id", "name", "value", "ts")

LOAD_BARS_SQL = """
SELECT toUnixTimestamp64Nano(ts) AS ts_ns, open, high, low, close, volume
FROM {db}.bars FINAL
WHERE symbol = {symbol:String} AND timeframe = {timeframe:String}{range}
ORDER BY ts
"""

# One row per destination bucket, with how many source bars fell in it; buckets are
# ts - ts % step, exactly like sigmax.data.resample (integer nanoseconds, UTC-aligned).
RESAMPLE_SQL = """
SELECT
    intDiv(toUnixTimestamp64Nano(ts), {dst:Int64}) * {dst:Int64} AS bucket,
    argMin(open, ts) AS open,
    max(high) AS high,
    min(low) AS low,
    argMax(close, ts) AS close,
    sumKahan(volume) AS volume,
    count() AS bars,
    countIf(toUnixTimestamp64Nano(ts) % {src:Int64} != 0) AS misaligned
FROM {db}.bars FINAL
WHERE symbol = {symbol:String} AND timeframe = {timeframe:String}
GROUP BY bucket
ORDER BY bucket
"""

LOAD_EQUITY_SQL = """
SELECT toUnixTimestamp64Nano(ts) AS ts_ns, equity, position
FROM {db}.equity FINAL WHERE run_id = {run_id:String} ORDER BY ts
"""

LOAD_METRICS_SQL = """
SELECT name, argMax(value, ts) AS value
FROM {db}.metrics FINAL WHERE run_id = {run_id:String} GROUP BY name ORDER BY name
"""


class TimeSeriesStoreError(UnavailableError, RuntimeError):
    """The time-series store cannot be opened or used."""


class DataDirLockedError(TimeSeriesStoreError):
    """Another process holds the embedded ClickHouse data directory."""


@dataclass(frozen=True, slots=True)
class TimeSeriesHealth:
    """What ``health()`` found about the time-series store."""

    backend: str  # "chdb" or "server"
    reachable: bool
    latency_ms: float | None
    server_version: str | None
    location: str  # data dir or server URL without credentials
    error: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.reachable else "down"


def _ns(value: datetime | int | np.integer | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"time-series store: naive datetime {value}; give a UTC one")
        return int(pd.Timestamp(value).as_unit("ns").value)
    return int(value)


def _utc(ts_ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ns, dtype=np.int64), unit="ns", utc=True))


def flatten_metrics(metrics: Mapping[str, object], prefix: str = "") -> dict[str, float]:
    """Numeric entries of a (nested) metrics dict, nested names joined with dots."""
    flat: dict[str, float] = {}
    for name, value in metrics.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, key + "."))
        elif isinstance(value, int | float | np.integer | np.floating):
            flat[key] = float(value)
    return flat


class TimeSeriesStore(ABC):
    """Bars, equity curves and metrics; one SQL for both backends.

    Backends implement ``_command``, ``_query_df`` and ``_insert_df``; every call
    goes through one pool slot, reported to ``PoolInstruments("clickhouse")``.
    """

    backend: str = ""

    def __init__(self, config: ClickHouseConfig, slots: int) -> None:
        self.config = config
        self.database = config.database
        self.instruments = PoolInstruments("clickhouse", leak_after_s=config.leak_after_s)
        self.instruments.set_size(slots)
        self._slots = threading.BoundedSemaphore(slots)
        self._closed = False

    # -- backend primitives -------------------------------------------------------------

    @abstractmethod
    def _command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    @abstractmethod
    def _query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame: ...

    @abstractmethod
    def _insert_df(self, table: str, frame: pd.DataFrame) -> None: ...

    @abstractmethod
    def _location(self) -> str: ...

    def close(self) -> None:
        """Release the backend; the store cannot be used afterwards."""
        self._closed = True

    def __enter__(self) -> TimeSeriesStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        if self._closed:
            raise TimeSeriesStoreError(f"{self.backend} store at {self._location()} is closed")
        started = self.instruments.waiting_started()
        try:
            self._slots.acquire()
        except BaseException:
            self.instruments.acquire_failed()
            raise
        token = self.instruments.acquired(started)
        try:
            yield
        finally:
            self.instruments.released(token)
            self._slots.release()
        self.instruments.check_leaks()

    def _sql(self, template: str) -> str:
        return template.replace("{db}", self.database)

    def _run(self, template: str, params: Mapping[str, Any] | None = None) -> None:
        with self._slot():
            self._command(self._sql(template), params)

    def _select(self, template: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self._slot():
            return self._query_df(self._sql(template), params)

    def _insert(self, table: str, frame: pd.DataFrame) -> int:
        if len(frame) == 0:
            return 0
        with self._slot():
            self._insert_df(table, frame)
        return len(frame)

    # -- the store ----------------------------------------------------------------------

    def migrate(self) -> None:
        """Create the database and tables if they do not exist."""
        for statement in SCHEMA:
            self._run(statement)

    def insert_bars(self, series: BarSeries, source: str) -> int:
        """Bulk-insert a whole series (one frame, one INSERT); returns the row count.

        Inserting bars that are already there replaces them: reads see each
        (symbol, timeframe, ts) once.
        """
        n = len(series)
        frame = pd.DataFrame(
            {
                "symbol": np.full(n, series.symbol, dtype=object),
                "timeframe": np.full(n, series.timeframe, dtype=object),
                "ts": _utc(series.ts),
                "open": series.open,
                "high": series.high,
                "low": series.low,
                "close": series.close,
                "volume": series.volume,
                "source": np.full(n, source, dtype=object),
            },
            columns=list(BAR_COLUMNS),
        )
        return self._insert("bars", frame)

    def load_bars(
        self,
        symbol: str,
        timeframe: str,
        start: datetime | int | None = None,
        end: datetime | int | None = None,
    ) -> BarSeries:
        """Bars with ``start <= ts < end`` (UTC datetimes or int ns; None = unbounded)."""
        params: dict[str, Any] = {"symbol": symbol, "timeframe": timeframe}
        clauses = ""
        start_ns, end_ns = _ns(start), _ns(end)
        if start_ns is not None:
            clauses += " AND ts >= fromUnixTimestamp64Nano({start:Int64}, 'UTC')"
            params["start"] = start_ns
        if end_ns is not None:
            clauses += " AND ts < fromUnixTimestamp64Nano({end:Int64}, 'UTC')"
            params["end"] = end_ns
        frame = self._select(LOAD_BARS_SQL.replace("{range}", clauses), params)
        return _series(symbol, timeframe, frame, "ts_ns")

    def resample_bars(self, symbol: str, from_tf: str, to_tf: str) -> BarSeries:
        """Aggregate stored ``from_tf`` bars to ``to_tf`` inside the database.

        Same rules as :func:`sigmax.data.resample`: open first, high max, low min,
        close last, volume sum; incomplete buckets at either edge are dropped, and an
        incomplete bucket inside the series is a DataError (the stored bars have a gap).
        """
        source = f"clickhouse {symbol} {from_tf}"
        src_ns, dst_ns = timeframe_ns(from_tf), timeframe_ns(to_tf)
        if dst_ns < src_ns or dst_ns % src_ns != 0:
            raise DataError(f"{source}: {to_tf} is not a whole multiple of {from_tf}")
        params = {"symbol": symbol, "timeframe": from_tf, "src": src_ns, "dst": dst_ns}
        frame = self._select(RESAMPLE_SQL, params)
        if len(frame) and int(frame["misaligned"].sum()) > 0:
            raise DataError(
                f"{source}: stored bar times are not on the UTC {from_tf} grid, "
                "so they cannot be bucketed exactly"
            )
        if len(frame):
            complete = frame["bars"].to_numpy(dtype=np.int64) == dst_ns // src_ns
            inner = ~complete[1:-1]
            if inner.any():
                when = pd.Timestamp(int(frame["bucket"].iloc[int(np.argmax(inner)) + 1]), tz="UTC")
                raise DataError(
                    f"{source}: {to_tf} bucket starting {when} is missing source bars; "
                    "fill the gaps first"
                )
            frame = frame[complete]
        return _series(symbol, timeframe_name(dst_ns), frame, "bucket")

    def insert_equity(
        self, run_id: str, ts_ns: np.ndarray, equity: np.ndarray, position: np.ndarray
    ) -> int:
        """Bulk-insert one run's equity curve and position, aligned arrays."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        if not (len(ts) == len(equity) == len(position)):
            raise ValueError(
                f"insert_equity {run_id}: ts, equity and position lengths differ "
                f"({len(ts)}, {len(equity)}, {len(position)})"
            )
        frame = pd.DataFrame(
            {
                "run_id": np.full(len(ts), run_id, dtype=object),
                "ts": _utc(ts),
                "equity": np.asarray(equity, dtype=np.float64),
                "position": np.asarray(position, dtype=np.float64),
            },
            columns=list(EQUITY_COLUMNS),
        )
        return self._insert("equity", frame)

    def insert_metrics(
        self, run_id: str, metrics: Mapping[str, float], ts: datetime | int | None = None
    ) -> int:
        """One row per metric, stamped ``ts`` (default now); same (name, ts) replaces."""
        ts_ns = _ns(ts)
        if ts_ns is None:
            ts_ns = time.time_ns()
        names, values = [], []
        for name, value in metrics.items():
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                raise ValueError(
                    f"insert_metrics {run_id}: {name} = {value!r} is not a number"
                ) from None
            names.append(name)
        frame = pd.DataFrame(
            {
                "run_id": np.full(len(names), run_id, dtype=object),
                "name": np.asarray(names, dtype=object),
                "value": np.asarray(values, dtype=np.float64),
                "ts": _utc(np.full(len(names), ts_ns, dtype=np.int64)),
            },
            columns=list(METRIC_COLUMNS),
        )
        return self._insert("metrics", frame)

    def load_equity(self, run_id: str) -> pd.DataFrame:
        """One run's curve: columns ts_ns (int64), equity, position; ordered by time."""
        return self._select(LOAD_EQUITY_SQL, {"run_id": run_id})

    def load_metrics(self, run_id: str) -> dict[str, float]:
        """One run's metrics, the latest value of each name."""
        frame = self._select(LOAD_METRICS_SQL, {"run_id": run_id})
        if len(frame) == 0:
            return {}
        return {str(n): float(v) for n, v in zip(frame["name"], frame["value"], strict=True)}

    def health(self) -> TimeSeriesHealth:
        """Run ``SELECT version()``; never raises."""
        try:
            started = time.perf_counter()
            frame = self._select("SELECT version() AS v")
            latency = (time.perf_counter() - started) * 1000.0
            version = str(frame["v"].iloc[0])
        except Exception as exc:  # health reports every failure instead of raising
            return TimeSeriesHealth(
                self.backend, False, None, None, self._location(), f"{type(exc).__name__}: {exc}"
            )
        return TimeSeriesHealth(self.backend, True, latency, version, self._location())


def _series(symbol: str, timeframe: str, frame: pd.DataFrame, ts_col: str) -> BarSeries:
    if len(frame) == 0:
        empty = np.zeros(0, dtype=np.float64)
        return BarSeries(symbol, timeframe, np.zeros(0, dtype=np.int64), *(empty.copy(),) * 5)
    return BarSeries(
        symbol,
        timeframe,
        frame[ts_col].to_numpy(dtype=np.int64, copy=True),
        *(
            frame[c].to_numpy(dtype=np.float64, copy=True)
            for c in ("open", "high", "low", "close", "volume")
        ),
    )


def _lock_holder(data_dir: Path) -> str | None:
    """The status text of the process holding ``data_dir``, or None when it is free."""
    status = data_dir / "status"
    if not status.exists():
        return None
    fd = os.open(status, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = status.read_text(errors="replace").strip()
        return " ".join(text.split()) or "unknown process"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class ChdbStore(TimeSeriesStore):
    """Embedded ClickHouse (chdb) on ``data_dir``: one process per directory.

    Raises :class:`DataDirLockedError` when another process holds the directory and
    :class:`TimeSeriesStoreError` when this process already runs chdb on another one.
    """

    backend = "chdb"

    def __init__(self, config: ClickHouseConfig | None = None) -> None:
        config = config or ClickHouseConfig()
        super().__init__(config, slots=1)
        self.data_dir = config.data_dir.expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        from chdb import session as chdb_session

        try:
            self._session = chdb_session.Session(str(self.data_dir))  # type: ignore[no-untyped-call]  # chdb ships no annotations
        except RuntimeError as exc:
            raise self._open_error(exc) from exc

    def _open_error(self, exc: RuntimeError) -> TimeSeriesStoreError:
        message = str(exc)
        if "already initialized with path" in message:
            return TimeSeriesStoreError(
                f"chdb: cannot open {self.data_dir}: this process already runs embedded "
                f"ClickHouse on another data dir ({message}); chdb allows one data dir per "
                "process: close the other store first"
            )
        holder = _lock_holder(self.data_dir)
        if holder is not None:
            return DataDirLockedError(
                f"chdb: data dir {self.data_dir} is locked by another process ({holder}); "
                "one process owns an embedded store: send reads and writes to that "
                "process instead of opening the directory again"
            )
        return TimeSeriesStoreError(f"chdb: cannot open {self.data_dir}: {message}")

    def _location(self) -> str:
        return str(self.data_dir)

    def _command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._session.query(sql, "CSV", params=dict(params or {}))  # type: ignore[no-untyped-call]  # chdb ships no annotations

    def _query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        frame = self._session.query(sql, "DataFrame", params=dict(params or {}))  # type: ignore[no-untyped-call]  # chdb ships no annotations
        return frame if isinstance(frame, pd.DataFrame) else pd.DataFrame()

    def _insert_df(self, table: str, frame: pd.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        # chdb's Python() table function reads the local variable named ``frame``.
        # The database name is validated; table and columns are this module's own.
        self._session.query(  # type: ignore[no-untyped-call]  # chdb ships no annotations
            f"INSERT INTO {self.database}.{table} ({columns}) SELECT {columns} FROM Python(frame)"  # nosec B608
        )

    def close(self) -> None:
        if not self._closed:
            self._session.close()  # type: ignore[no-untyped-call]  # chdb ships no annotations
        super().close()


class ClickHouseServerStore(TimeSeriesStore):
    """A ClickHouse server through clickhouse-connect, ``pool_size`` HTTP connections."""

    backend = "server"

    def __init__(self, config: ClickHouseConfig) -> None:
        if config.url is None:
            raise ValueError("ClickHouseServerStore needs config.url (SIGMAX_CLICKHOUSE_URL)")
        super().__init__(config, slots=config.pool_size)
        import clickhouse_connect
        from clickhouse_connect.driver.httputil import get_pool_manager

        try:
            self._client = clickhouse_connect.get_client(
                dsn=config.url,
                pool_mgr=get_pool_manager(maxsize=config.pool_size, num_pools=1),
                connect_timeout=config.connect_timeout_s,
                send_receive_timeout=config.query_timeout_s,
                autogenerate_session_id=False,  # sessions would serialise the pool
            )
        except Exception as exc:
            raise TimeSeriesStoreError(
                f"clickhouse: cannot connect to {self._location()}: {type(exc).__name__}: {exc}"
            ) from exc

    def _location(self) -> str:
        url = self.config.url or ""
        scheme, sep, rest = url.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url

    def _command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._client.command(sql, parameters=dict(params or {}))

    def _query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self._client.query_df(sql, parameters=dict(params or {}))
        return frame

    def _insert_df(self, table: str, frame: pd.DataFrame) -> None:
        self._client.insert_df(table, frame, database=self.database)

    def close(self) -> None:
        if not self._closed:
            self._client.close()
        super().close()


def open_store(config: ClickHouseConfig | None = None) -> TimeSeriesStore:
    """The store ``config`` names: the server at ``url``, else chdb on ``data_dir``."""
    config = config or ClickHouseConfig()
    return ClickHouseServerStore(config) if config.url else ChdbStore(config)


__all__ = [
    "ChdbStore",
    "ClickHouseServerStore",
    "DataDirLockedError",
    "TimeSeriesHealth",
    "TimeSeriesStore",
    "TimeSeriesStoreError",
    "flatten_metrics",
    "open_store",
]
