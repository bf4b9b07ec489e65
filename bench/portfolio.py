"""Portfolio bar cycle: one step (every symbol's new bar in -> every symbol's order out)
for 1, 10, 50 and 200 symbols, in-process and through the actors, in one run.

The symbols are SYNTHETIC: ``SYN000/USD``, ``SYN001/USD``, ... are copies of the bundled
BTC (1h) and ETH, LTC, XRP, EOS (30m resampled to 1h) series, each cut from its own
window of its source, rescaled to start at a close of 100 and restamped onto one common
hourly timeline (so every symbol has a bar at every step). They are real price paths
under made-up names, not market data of any real instrument.

Cases (each with its own fresh session, cash and book):
  * in-process: :class:`~sigmax.trading.session.TradingSession` over the domain's ports
    (a decider, RiskEngine, PaperVenue, Ledger), fed by ``PortfolioReplay``; the cycle
    is ``session.on_step`` (fills, marks, decisions, risk checks, orders);
  * actors: ``start_system`` / ``run_paper`` on a local Ray (``--num-cpus``, 2 by
    default); the cycle is the session loop's period, from one step's reports to the
    next (feed ``next_step``, the step through the risk, execution and portfolio actors,
    the progress ``ack``): what a live session pays per bar. ``persist=False``; one
    persisted run (PostgreSQL, ``--persist-symbols``) shows what storing costs;
for ``sma_cross`` (fixed quantity, asked in the driver) and the agent graph ``sigmax``
(the decision-graph actor and its analyst actors), fewer steps for the graph.

Per case: cycle p50/p99 (ms), cost per symbol (p50 cycle / symbols) and its ratio to
the one-symbol case of the same path and strategy (batching works when it falls below
1), symbol-bars per second, orders sent (approved by risk); in-process also the step's
CPU time p50 (this thread's, which other processes on a busy machine do not inflate)
and the decision's own p50 (wall).
The first ``--skip`` steps of each case are warm-up and not timed; for the agent graph
at least one decision window more (its first decision builds every analyst's live state
for every symbol, which a running session does once), so its timed steps are the
steady state: most of them hold the last decision, one in four (4h cadence on 1h
bars) decides, and those set the p99.

    .venv/bin/python bench/portfolio.py [--symbols 1,10,50,200] [--steps 100] \
        [--graph-steps 40] [--paths in-process,actors] [--strategies sma_cross,sigmax] \
        [--num-cpus 2] [--persist-symbols 10] [--json OUT.json] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.data.timeframes import timeframe_ns
from sigmax.execution import PaperExchange
from sigmax.graph import DecisionGraph
from sigmax.ledger import Ledger
from sigmax.model import BarSeries, Decision
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.strategies import make_strategy
from sigmax.strategies.base import TargetUnit
from sigmax.trading.adapters import GraphDecider, PaperVenue, StrategyDecider
from sigmax.trading.session import BarReport, DecisionPort, SessionConfig, TradingSession

SOURCES = (
    "bundled:BTC-USD-1h",
    "bundled:ETH-USD-30m",
    "bundled:LTC-USD-30m",
    "bundled:XRP-USD-30m",
    "bundled:EOS-USD-30m",
)
TIMEFRAME = "1h"
FIRST_TS_NS = 1_514_764_800_000_000_000  # 2018-01-01T00:00Z: the synthetic timeline's start
START_CLOSE = 100.0
SMA = {"fast": "10", "slow": "30", "size": "1"}  # fixed quantity: 1 unit (~100 quote)
CASH = Decimal(1_000_000)
PATHS = ("in-process", "actors")
PERSISTED = "persisted"
STRATEGIES = ("sma_cross", "sigmax")


@dataclass
class CaseResult:
    """One case's timings (ms per step) and what it traded."""

    path: str
    strategy: str
    symbols: int
    variant: str  # "" or PERSISTED
    cycle_ms: list[float]
    reports: int
    orders: int
    approved: int
    decide_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # in-process: the step's CPU time
    round_trips: float | None = None  # driver ray.get calls per timed step (--profile)

    @property
    def label(self) -> str:
        return f"{self.path} {self.variant}" if self.variant else self.path

    def p(self, q: float) -> float:
        return float(np.percentile(self.cycle_ms, q))

    @property
    def symbol_bars_per_s(self) -> float:
        return self.symbols * len(self.cycle_ms) / (sum(self.cycle_ms) / 1000)


# ---- the synthetic universe ----------------------------------------------------------


@cache
def _source(source: str) -> BarSeries:
    return load_bars(source, None, TIMEFRAME)


def synthetic_universe(count: int, bars: int) -> list[BarSeries]:
    """``count`` synthetic symbols of ``bars`` hourly bars each, on one timeline.

    Symbol k copies source ``k % 5`` from its own window (sources are cut into as many
    windows as they have symbols), scaled so its first close is 100."""
    if count < 1 or bars < 2:
        raise ValueError(f"synthetic universe: need count >= 1 and bars >= 2, got {count}, {bars}")
    per_source = -(-count // len(SOURCES))
    step = timeframe_ns(TIMEFRAME)
    ts = FIRST_TS_NS + np.arange(bars, dtype=np.int64) * step
    universe = []
    for k in range(count):
        base = _source(SOURCES[k % len(SOURCES)])
        if len(base) < bars:
            raise ValueError(f"{SOURCES[k % len(SOURCES)]}: {len(base)} bars, fewer than {bars}")
        stride = (len(base) - bars) // per_source
        at = (k // len(SOURCES)) * stride
        window = base[at : at + bars]
        scale = START_CLOSE / float(window.close[0])
        universe.append(
            BarSeries(
                f"SYN{k:03d}/USD",
                TIMEFRAME,
                ts.copy(),
                window.open * scale,
                window.high * scale,
                window.low * scale,
                window.close * scale,
                window.volume.copy(),
            )
        )
    return universe


def write_universe(series: list[BarSeries], directory: Path) -> list[tuple[str, str | None]]:
    """Each series as a Parquet file the market-data actor loads; its (path, symbol) legs."""
    legs: list[tuple[str, str | None]] = []
    for bars in series:
        frame = pd.DataFrame(
            {
                "ts": pd.to_datetime(bars.ts, unit="ns", utc=True),
                "open": bars.open,
                "high": bars.high,
                "low": bars.low,
                "close": bars.close,
                "volume": bars.volume,
                "symbol": bars.symbol,
            }
        )
        path = directory / f"{bars.symbol.replace('/', '-')}-{TIMEFRAME}.parquet"
        frame.to_parquet(path, index=False)
        legs.append((str(path), bars.symbol))
    return legs


def bench_settings(**overrides: Any) -> Settings:
    """The configured settings, with no orders-per-minute cap: a portfolio of 200 symbols
    sends up to 200 orders at one bar time, and refusing most of them by rate is not what
    is measured."""
    base = Settings()
    risk = RiskConfig(**{**base.risk.model_dump(), "max_orders_per_minute": None})
    return base.model_copy(update={"risk": risk, **overrides})


# ---- in-process ----------------------------------------------------------------------


class TimedDecider:
    """Wraps a decider and records how long each of its calls took (ms); it offers
    ``decide_many`` exactly when the wrapped decider does."""

    def __init__(self, inner: DecisionPort) -> None:
        self.inner = inner
        self.ms: list[float] = []
        self.decide_many = self._decide_many if hasattr(inner, "decide_many") else None

    def decide(self, history: BarSeries) -> Decision:
        started = time.perf_counter()
        try:
            return self.inner.decide(history)
        finally:
            self.ms.append((time.perf_counter() - started) * 1000)

    def _decide_many(self, histories: Mapping[str, BarSeries]) -> dict[str, Decision]:
        started = time.perf_counter()
        try:
            found: dict[str, Decision] = self.inner.decide_many(histories)  # type: ignore[attr-defined]
            return found
        finally:
            self.ms.append((time.perf_counter() - started) * 1000)


def _decision_window(settings: Settings) -> int:
    """Data bars per decision of the agent graph (1 when it decides every bar)."""
    cadence = settings.graph.cadence
    return max(timeframe_ns(cadence) // timeframe_ns(TIMEFRAME), 1) if cadence else 1


def graph_warmup(settings: Settings) -> int:
    return DecisionGraph(settings.graph).data_warmup(TIMEFRAME)  # data bars, any cadence


def run_in_process(
    settings: Settings,
    series: list[BarSeries],
    strategy: str,
    warmup: int,
    skip: int,
    advance: Callable[[], None] = lambda: None,
) -> tuple[CaseResult, list[list[BarReport]]]:
    """Every step of ``series`` after ``warmup`` bars through an in-process session; the
    result and every step's reports."""
    from sigmax.data.feed import PortfolioReplay

    graph = None
    if strategy == "sigmax":
        graph = DecisionGraph(settings.graph)
        inner: DecisionPort = GraphDecider(graph)
        unit: TargetUnit = "equity_fraction"
    else:
        chosen = make_strategy(strategy, SMA if strategy == "sma_cross" else {}, settings.graph)
        inner, unit = StrategyDecider(chosen), chosen.unit
    decider = TimedDecider(inner)
    session = TradingSession(
        SessionConfig(symbols=tuple(s.symbol for s in series), session_id="bench", unit=unit),
        decider,
        RiskEngine(settings.risk),
        PaperVenue(PaperExchange(settings.paper)),
        Ledger(CASH),
    )
    replay = PortfolioReplay(series, warmup, None, warmup)
    cycle: list[float] = []
    cpu_ms: list[float] = []
    decide: list[float] = []
    steps: list[list[BarReport]] = []
    try:
        while (step := replay.next()) is not None:
            calls = len(decider.ms)
            cpu, started = time.thread_time(), time.perf_counter()
            reports = session.on_step(step)
            cycle.append((time.perf_counter() - started) * 1000)
            cpu_ms.append((time.thread_time() - cpu) * 1000)
            decide.append(sum(decider.ms[calls:]))  # one call per step, or one per symbol
            steps.append(reports)
            advance()
    finally:
        if graph is not None:
            graph.close()
    done = [r for step in steps for r in step]
    result = CaseResult(
        "in-process",
        strategy,
        len(series),
        "",
        cycle[skip:],
        len(done),
        sum(r.order is not None for r in done),
        sum(r.verdict is not None and r.verdict.approved for r in done),
        decide[skip:],
        cpu_ms[skip:],
    )
    return result, steps


# ---- through the actors --------------------------------------------------------------


@contextmanager
def _pg_schema(dsn: str) -> Iterator[str]:
    """A throwaway PostgreSQL schema for the persisted run, dropped afterwards."""
    import asyncpg

    name = f"sigmax_bench_{uuid.uuid4().hex[:10]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f"CREATE SCHEMA {name}"))
    try:
        yield name
    finally:
        asyncio.run(execute(f"DROP SCHEMA IF EXISTS {name} CASCADE"))


def run_actors(
    settings: Settings,
    legs: list[tuple[str, str | None]],
    strategy: str,
    warmup: int,
    steps: int,
    skip: int,
    variant: str,
    profile: bool,
    advance: Callable[[], None] = lambda: None,
) -> tuple[CaseResult, str]:
    """The same steps through start_system/run_paper; the result and, with ``profile``,
    the driver's profile of the loop. ``variant`` PERSISTED stores orders, fills, risk
    state and progress in PostgreSQL (``settings.postgres``)."""
    import ray

    from actors.system import PaperRequest, run_paper, start_system

    request = PaperRequest(
        legs=tuple(legs),
        timeframe=TIMEFRAME,
        start=warmup,
        bars=steps,
        cash=CASH,
        session_id=f"bench-{strategy}-{len(legs)}-{uuid.uuid4().hex[:6]}",
        persist=variant == PERSISTED,
        strategy=strategy,
        params=dict(SMA) if strategy == "sma_cross" else {},
    )
    seen: list[float] = []
    last_ts: list[Any] = [None]

    def on_bar(report: BarReport, remaining: int | None) -> None:
        if report.ts != last_ts[0]:  # the first report of a new step
            last_ts[0] = report.ts
            seen.append(time.perf_counter())
            advance()

    system = start_system(settings, request)
    profiler = cProfile.Profile() if profile else None
    gets = _CountedGets(ray) if profile else None
    try:
        if profiler is not None:
            profiler.enable()
        reports = run_paper(system, request, on_bar=on_bar)
        if profiler is not None:
            profiler.disable()
    finally:
        if gets is not None:
            gets.restore()
        system.shutdown()
    # period k: from step k-1's reports to step k's
    cycle = [float(d) * 1000 for d in np.diff(seen)][skip:]
    result = CaseResult(
        "actors",
        strategy,
        len(legs),
        variant,
        cycle,
        len(reports),
        sum(r.order is not None for r in reports),
        sum(r.verdict is not None and r.verdict.approved for r in reports),
    )
    text = ""
    if profiler is not None and gets is not None:
        result.round_trips = gets.calls / max(1, len(seen))
        text = _profile_text(profiler, result)
    return result, text


class _CountedGets:
    """Counts the driver's ``ray.get`` calls (its round trips to actors) while installed."""

    def __init__(self, ray: Any) -> None:
        self.ray, self.original, self.calls = ray, ray.get, 0

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return self.original(*args, **kwargs)

        ray.get = counted

    def restore(self) -> None:
        self.ray.get = self.original


PROFILED = ("actors/", "sigmax/trading/", "sigmax/risk/", "sigmax/strategies/")


def _profile_text(profiler: cProfile.Profile, result: CaseResult) -> str:
    """The driver's functions of the project with most cumulative time, per step."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    steps = max(1, result.reports // result.symbols)
    rows = []
    for (path, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = path.replace(os.sep, "/")
        if any(part in where for part in PROFILED):
            short = where[where.rfind("/actors/") + 1 :] if "/actors/" in where else where
            short = short[short.find("sigmax/") :] if "sigmax/" in short else short
            rows.append((cumulative, calls, f"{short}:{line} {name}"))
    rows.sort(reverse=True)
    lines = [
        f"driver profile, {result.label} {result.strategy} x{result.symbols} "
        f"({steps} steps; ray.get per step {result.round_trips:.1f}): "
        "cumulative ms per step, calls per step, function"
    ]
    for cumulative, calls, name in rows[:18]:
        lines.append(f"  {cumulative * 1000 / steps:9.2f}  {calls / steps:7.1f}  {name}")
    return "\n".join(lines)


def start_ray(num_cpus: int, tries: int = 3) -> None:
    """A local Ray of ``num_cpus`` CPUs. Ray gives its node 30 s to come up; on a busy
    machine that can pass, so a node that timed out is shut down and started again."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    for attempt in range(1, tries + 1):
        try:
            ray.init(
                address="local",
                num_cpus=num_cpus,
                include_dashboard=False,
                namespace="sigmax-bench",
                log_to_driver=False,
                configure_logging=False,
            )
            return
        except Exception as exc:  # Ray raises a bare Exception when its node times out
            ray.shutdown()
            if attempt == tries or "timed out during startup" not in str(exc):
                raise


# ---- the report ----------------------------------------------------------------------


def table_rows(results: list[CaseResult]) -> list[dict[str, Any]]:
    """One row per case, the per-symbol cost's ratio against the 1-symbol case of the
    same path, storage and strategy in this run (None without such a case)."""
    one = {(r.label, r.strategy): r.p(50) for r in results if r.symbols == 1}
    rows = []
    for r in results:
        per_symbol = r.p(50) / r.symbols
        base = one.get((r.label, r.strategy))
        rows.append(
            {
                "path": r.label,
                "strategy": r.strategy,
                "symbols": r.symbols,
                "steps": len(r.cycle_ms),
                "p50_ms": r.p(50),
                "p99_ms": r.p(99),
                "per_symbol_ms": per_symbol,
                "ratio_to_1": None if base is None else per_symbol / base,
                "symbol_bars_per_s": r.symbol_bars_per_s,
                "orders": r.orders,
                "approved": r.approved,
                "decide_p50_ms": float(np.percentile(r.decide_ms, 50)) if r.decide_ms else None,
                "cpu_p50_ms": float(np.percentile(r.cpu_ms, 50)) if r.cpu_ms else None,
                "cpu_p99_ms": float(np.percentile(r.cpu_ms, 99)) if r.cpu_ms else None,
                "round_trips_per_step": r.round_trips,
            }
        )
    return rows


def render(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    columns = (
        "path",
        "strategy",
        "symbols",
        "steps",
        "p50 ms",
        "p99 ms",
        "ms/symbol",
        "x 1 symbol",
        "symbol-bars/s",
        "orders (ok)",
        "cpu p50 ms",
        "cpu p99 ms",
        "decide p50 ms",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("path", "strategy") else "right")
    for row in rows:
        ratio = row["ratio_to_1"]
        decide, cpu, cpu99 = row["decide_p50_ms"], row["cpu_p50_ms"], row["cpu_p99_ms"]
        table.add_row(
            row["path"],
            row["strategy"],
            str(row["symbols"]),
            str(row["steps"]),
            f"{row['p50_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['per_symbol_ms']:.3f}",
            "-" if ratio is None else f"{ratio:.2f}",
            f"{row['symbol_bars_per_s']:,.0f}",
            f"{row['orders']} ({row['approved']})",
            "-" if cpu is None else f"{cpu:.2f}",
            "-" if cpu99 is None else f"{cpu99:.2f}",
            "-" if decide is None else f"{decide:.3f}",
        )
    return table


def _csv_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _csv_choice(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        wrong = [v for v in values if v not in choices]
        if not values or wrong:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}; got {text!r}")
        return values

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--symbols", type=_csv_ints, default=[1, 10, 50, 200])
    parser.add_argument("--steps", type=int, default=100, help="steps per sma_cross case")
    parser.add_argument("--graph-steps", type=int, default=40, help="steps per sigmax case")
    parser.add_argument("--skip", type=int, default=3, help="warm-up steps not timed")
    parser.add_argument("--paths", type=_csv_choice(PATHS), default=list(PATHS))
    parser.add_argument("--strategies", type=_csv_choice(STRATEGIES), default=list(STRATEGIES))
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument(
        "--persist-symbols",
        type=int,
        default=10,
        help="symbols of one persisted sma_cross run through the actors (0: none)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SIGMAX_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL DSN of the persisted run (a throwaway schema is made there)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the driver of each actor case"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    for name in ("steps", "graph_steps"):
        if getattr(args, name) <= args.skip:
            parser.error(f"--{name.replace('_', '-')} must exceed --skip ({args.skip})")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=170)
    settings = bench_settings()
    warmup = graph_warmup(settings)
    plan: list[tuple[str, str, int, str]] = [
        (path, strategy, n, "")
        for path in args.paths
        for strategy in args.strategies
        for n in args.symbols
    ]
    if "actors" in args.paths and args.persist_symbols > 0:
        plan.append(("actors", "sma_cross", args.persist_symbols, PERSISTED))
    most = max(n for _, _, n, _ in plan)
    longest = max(args.steps, args.graph_steps + _decision_window(settings))
    universe = synthetic_universe(most, warmup + longest)
    results: list[CaseResult] = []
    profiles: list[str] = []
    started = time.perf_counter()
    ray_up = False
    with tempfile.TemporaryDirectory(prefix="sigmax-bench-") as tmp:
        legs = write_universe(universe, Path(tmp)) if "actors" in args.paths else []
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for path, strategy, n, variant in plan:
                extra = _decision_window(settings) if strategy == "sigmax" else 0
                skip = args.skip + extra
                steps = (args.graph_steps if strategy == "sigmax" else args.steps) + extra
                task = progress.add_task(f"{path} {variant} {strategy} x{n}", total=steps)

                def advance(task: Any = task) -> None:
                    progress.advance(task)

                series = [bars[: warmup + steps] for bars in universe[:n]]
                if path == "in-process":
                    result, _ = run_in_process(settings, series, strategy, warmup, skip, advance)
                else:
                    if not ray_up:  # after the in-process cases: Ray's idle processes
                        start_ray(args.num_cpus)  # take CPU from them otherwise
                        ray_up = True
                    with ExitStack() as stack:
                        case_settings = settings
                        if variant == PERSISTED:
                            schema = stack.enter_context(_pg_schema(args.postgres))
                            case_settings = _persisted(settings, args.postgres, schema, tmp)
                        result, text = run_actors(
                            case_settings,
                            legs[:n],
                            strategy,
                            warmup,
                            steps,
                            skip,
                            variant,
                            args.profile,
                            advance,
                        )
                    if text:
                        profiles.append(text)
                results.append(result)
    elapsed = time.perf_counter() - started
    rows = table_rows(results)
    title = (
        f"Portfolio bar cycle, synthetic symbols (bundled series relabelled), history "
        f"{warmup} bars, Ray num_cpus={args.num_cpus}, {os.cpu_count()} CPUs seen, "
        f"Python {platform.python_version()}, {elapsed:.0f} s in all"
    )
    console.print(render(rows, title))
    for text in profiles:
        console.print(text, markup=False, highlight=False)
    if args.json:
        payload = {
            "title": title,
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "rows": rows,
            "cases": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=1))


def _persisted(settings: Settings, dsn: str, schema: str, tmp: str) -> Settings:
    """Settings whose PostgreSQL is ``dsn`` on ``schema`` and whose chdb lives in ``tmp``."""
    from sigmax.storage.clickhouse_config import ClickHouseConfig
    from sigmax.storage.postgres_config import PostgresConfig

    pg = PostgresConfig(dsn=dsn, schema_name=schema, pool_size=2, max_overflow=2)
    ch = ClickHouseConfig(data_dir=Path(tmp) / "chdb")
    return settings.model_copy(update={"postgres": pg, "clickhouse": ch})


if __name__ == "__main__":
    main()
