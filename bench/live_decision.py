"""Live per-bar decision latency in-process: the analysts' old path (every indicator over
the whole history, each bar) against the new one (each analyst's per-symbol live state
moved by one bar), in the same run on the same real bars.

Prints p50/mean per bar of (a) the five analysts alone and (b) the whole decision graph
(``DecisionGraph.run_bar``: analysts, debate, arbitrator, optimiser, risk gate), and the
old/new ratio; checks that both paths decide the same.

    .venv/bin/python bench/live_decision.py [--bars 300] [--history 12000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from sigmax.agents import Agent
from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.graph import DecisionGraph, GraphNodes
from sigmax.model import BarSeries, Decision, Signal


def _whole_history(agent: Agent, history: BarSeries) -> Signal | None:
    return agent.analyze(history)


def _time_per_bar(
    series: BarSeries, first: int, step: Callable[[BarSeries], object]
) -> tuple[list[float], list[object]]:
    times, results = [], []
    for i in range(first, len(series)):
        history = series[: i + 1]
        started = time.perf_counter()
        results.append(step(history))
        times.append(time.perf_counter() - started)
    return times, results


def _analysts_step(agents: list[Agent], live: bool) -> Callable[[BarSeries], object]:
    def step(history: BarSeries) -> object:
        return [a.follow(history) if live else a.analyze(history) for a in agents]

    return step


def _graph_step(graph: DecisionGraph) -> Callable[[BarSeries], Decision]:
    return graph.run_bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=300, help="bars timed per path")
    parser.add_argument("--history", type=int, default=12_000, help="bars before the first")
    args = parser.parse_args()
    settings = Settings()
    series = load_bars("bundled:BTC-USD-1h")[: args.history + args.bars]
    first = args.history

    old_graph = DecisionGraph(settings.graph, GraphNodes(analyse_bar=_whole_history))
    new_graph = DecisionGraph(settings.graph)
    runs = {
        "analysts, whole history": _analysts_step(list(old_graph.agents), live=False),
        "analysts, live state": _analysts_step(list(new_graph.agents), live=True),
        "decision graph, whole history": _graph_step(old_graph),
        "decision graph, live state": _graph_step(new_graph),
    }
    stats: dict[str, tuple[float, float]] = {}
    results: dict[str, list[object]] = {}
    for name, step in runs.items():
        step(series[:first])  # warm the live state and the graph's caches
        times, results[name] = _time_per_bar(series, first, step)
        ms = np.array(times) * 1000
        stats[name] = (float(np.percentile(ms, 50)), float(ms.mean()))
    if results["analysts, whole history"] != results["analysts, live state"]:
        raise SystemExit("the live analysts disagree with the whole-history ones")
    if results["decision graph, whole history"] != results["decision graph, live state"]:
        raise SystemExit("the live decisions disagree with the whole-history ones")

    table = Table(
        title=f"Live decision latency, BTC/USD 1h, history {first} bars, {args.bars} bars"
    )
    for column in ("path", "p50 ms", "mean ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, (p50, mean) in stats.items():
        table.add_row(name, f"{p50:.3f}", f"{mean:.3f}")
    console = Console()
    console.print(table)
    for part in ("analysts", "decision graph"):
        old, new = stats[f"{part}, whole history"][0], stats[f"{part}, live state"][0]
        console.print(f"{part}: old/new p50 = {old / new:.1f}x")


if __name__ == "__main__":
    main()
