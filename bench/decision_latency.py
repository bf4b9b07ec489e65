"""Bar-in → order-out latency: the trading session through the Ray actors against the
same session in-process, on the same real bars, in one run.

Measures the time of each ``TradingSession.on_bar`` (fills, mark, decision graph with
five analysts, risk check, order submit) and prints p50/p99 for every bar and for
the bars that sent an order, for:
  * in-process (domain objects),
  * actors (decision graph fanning out to five agent actors, risk, execution,
    portfolio actors), no persistence,
  * actors persisting to PostgreSQL (embedded server in a temporary SIGMAX_HOME).

    .venv/bin/python bench/decision_latency.py [--bars 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal

import numpy as np
from rich.console import Console
from rich.table import Table

START = 12_000


def _stats(samples: list[float]) -> tuple[float, float, float]:
    a = np.array(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.mean())


def in_process(bars: int) -> tuple[list[float], list[bool]]:
    from sigmax.config import Settings
    from sigmax.data import load_bars
    from sigmax.execution import PaperExchange
    from sigmax.graph import DecisionGraph
    from sigmax.ledger import Ledger
    from sigmax.risk import RiskEngine
    from sigmax.trading.adapters import GraphDecider, PaperVenue
    from sigmax.trading.session import SessionConfig, TradingSession

    settings = Settings()
    graph = DecisionGraph(settings.graph)
    warmup = graph.data_warmup("1h")  # in the data's bars, whatever the decision cadence
    series = load_bars("bundled:BTC-USD-1h")[START - warmup : START + bars]
    session = TradingSession(
        SessionConfig(symbol=series.symbol),
        GraphDecider(graph),
        RiskEngine(settings.risk),
        PaperVenue(PaperExchange(settings.paper)),
        Ledger(Decimal(10_000)),
    )
    times, ordered = [], []
    for i in range(warmup, len(series)):
        started = time.perf_counter()
        report = session.on_bar(series[: i + 1])
        times.append(time.perf_counter() - started)
        ordered.append(report.order is not None)
    graph.close()
    return times, ordered


def through_actors(bars: int, persist: bool) -> tuple[list[float], list[bool]]:
    import ray

    from actors.system import PaperRequest, session_over, start_system
    from sigmax.config import Settings

    request = PaperRequest(start=START, bars=bars, session_id=f"bench-{persist}", persist=persist)
    system = start_system(Settings(), request)
    try:
        history = ray.get(system.market_data.next.remote())
        session = session_over(system, history.symbol, request.session_id)
        session.on_bar(history)  # first call warms every actor (imports, pools)
        times, ordered = [], []
        while (history := ray.get(system.market_data.next.remote())) is not None:
            started = time.perf_counter()
            report = session.on_bar(history)
            times.append(time.perf_counter() - started)
            ordered.append(report.order is not None)
    finally:
        system.shutdown()
    return times, ordered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ["SIGMAX_HOME"] = tempfile.mkdtemp(prefix="sigmax-bench-")
    import ray

    cases = {"in-process": in_process(args.bars)}
    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        cases["actors"] = through_actors(args.bars, persist=False)
        cases["actors + PostgreSQL"] = through_actors(args.bars, persist=True)
    finally:
        ray.shutdown()

    base_p50 = _stats(cases["in-process"][0])[0]
    table = Table(
        title=f"bar-in → order-out, {args.bars} real BTC/USD 1h bars, {os.cpu_count()} CPUs"
    )
    for col in ("case", "p50 ms", "p99 ms", "mean ms", "p50 (order bars) ms", "p50 × in-process"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for name, (times, ordered) in cases.items():
        p50, p99, mean = _stats(times)
        with_order = [t for t, o in zip(times, ordered, strict=True) if o]
        order_p50 = f"{_stats(with_order)[0]:.1f}" if with_order else "-"
        table.add_row(
            name, f"{p50:.1f}", f"{p99:.1f}", f"{mean:.1f}", order_p50, f"{p50 / base_p50:.1f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
