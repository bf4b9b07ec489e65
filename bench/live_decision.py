"""Live per-bar decision latency in-process: the analysts' old path (every indicator over
the whole history, each bar) against the new one (each analyst's per-symbol live state
moved by one bar), in the same run on the same real bars.

Prints p50/mean per bar of (a) the five analysts alone and (b) the whole decision graph
(``DecisionGraph.run_bar``: analysts, debate, arbitrator, optimiser, risk gate), and the
old/new ratio; checks that both paths decide the same.

Then the multi-symbol bar cycle through the actors (a local Ray cluster: five agent
actors, decision graph actors): for 1, 10 and 50 symbols, ms per cycle and per symbol of
one ``DecisionGraphActor.decide_many`` call (one round trip per agent actor for all
symbols) against the baseline of one ``decide`` call per symbol, in the same run and
interleaved cycle by cycle; checks that both decide the same and counts the agent round
trips. The symbols are synthetic: windows of the bundled BTC/USD hourly series at
different offsets, on one shared time axis.

    .venv/bin/python bench/live_decision.py [--bars 300] [--history 12000]
        [--symbols 1,10,50] [--cycles 40] [--cycle-history 1000] [--skip-in-process]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

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


def _synthetic(base: BarSeries, count: int, length: int, prefix: str) -> list[BarSeries]:
    """``count`` symbols of ``length`` bars: the base series' prices from different
    offsets, all on the time axis of its first ``length`` bars."""
    step = max((len(base) - length) // max(count, 1), 1)
    out = []
    for k in range(count):
        window = base[k * step : k * step + length]
        if len(window) < length:
            raise SystemExit(f"bundled series too short for {count} symbols of {length} bars")
        out.append(
            BarSeries(
                f"{prefix}{k:02d}/USD",
                base.timeframe,
                base.ts[:length].copy(),
                window.open.copy(),
                window.high.copy(),
                window.low.copy(),
                window.close.copy(),
                window.volume.copy(),
            )
        )
    return out


def _cycle_bench(ray: Any, sizes: list[int], cycles: int, history: int, console: Console) -> None:
    """The multi-symbol bar cycle through the actors: decide_many against per-symbol
    decide, interleaved cycle by cycle."""
    from actors import options
    from actors.agent import AgentActor
    from actors.decision_graph import DecisionGraphActor
    from actors.options import spawn
    from sigmax.graph_agents import graph_agents

    config = Settings().graph
    graph_json = config.model_dump_json()
    names = [a.name for a in graph_agents(config)]
    agents = {n: spawn(AgentActor, options.AGENT, f"bench:{n}", n, graph_json) for n in names}
    actor_names = {n: f"agent:bench:{n}" for n in names}
    batched = spawn(
        DecisionGraphActor, options.DECISION_GRAPH, "bench-many", graph_json, actor_names
    )
    single = spawn(DecisionGraphActor, options.DECISION_GRAPH, "bench-one", graph_json, actor_names)
    base = load_bars("bundled:BTC-USD-1h")
    most = max(sizes)
    length = history + cycles
    many_sets = _synthetic(base, most, length, "M")  # decide_many's symbols
    one_sets = _synthetic(base, most, length, "S")  # the same prices under other names

    def calls() -> int:  # analyze_bars calls the agent actors have answered so far
        return sum(c["calls"] for c in ray.get([h.counts.remote() for h in agents.values()]))

    table = Table(
        title=(
            f"Bar cycle through the actors, {len(names)} agent actors, history {history} "
            f"bars, {cycles} cycles per size (synthetic symbols from BTC/USD 1h)"
        )
    )
    for column in (
        "symbols",
        "path",
        "p50 ms/cycle",
        "p99 ms/cycle",
        "mean ms/cycle",
        "p50 ms/symbol",
        "agent calls/cycle",
    ):
        table.add_column(column, justify="left" if column == "path" else "right")
    for n in sizes:
        many, one = many_sets[:n], one_sets[:n]
        warm = history - 1  # the first cycle sends the histories: not timed
        ray.get(batched.decide_many.remote({b.symbol: b[: warm + 1] for b in many}))
        for b in one:
            ray.get(single.decide.remote(b[: warm + 1]))
        times: dict[str, list[float]] = {"decide_many": [], "decide per symbol": []}
        trips = {"decide_many": 0, "decide per symbol": 0}
        for i in range(history, length):
            before = calls()
            started = time.perf_counter()
            decided = ray.get(batched.decide_many.remote({b.symbol: b[: i + 1] for b in many}))
            times["decide_many"].append(time.perf_counter() - started)
            middle = calls()
            started = time.perf_counter()
            each = [ray.get(single.decide.remote(b[: i + 1])) for b in one]
            times["decide per symbol"].append(time.perf_counter() - started)
            trips["decide_many"] += middle - before
            trips["decide per symbol"] += calls() - middle
            ours = [decided[b.symbol].target_position for b in many]
            if ours != [d.target_position for d in each]:
                raise SystemExit(f"{n} symbols, bar {i}: decide_many and decide disagree")
        for path, values in times.items():
            ms = np.array(values) * 1000
            table.add_row(
                str(n),
                path,
                f"{np.percentile(ms, 50):.1f}",
                f"{np.percentile(ms, 99):.1f}",
                f"{ms.mean():.1f}",
                f"{np.percentile(ms, 50) / n:.2f}",
                f"{trips[path] / cycles:.1f}",
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=300, help="bars timed per path")
    parser.add_argument("--history", type=int, default=12_000, help="bars before the first")
    parser.add_argument("--symbols", default="1,10,50", help="symbol counts of the cycle")
    parser.add_argument("--cycles", type=int, default=40, help="bar cycles timed per count")
    parser.add_argument(
        "--cycle-history", type=int, default=1000, help="bars before the first cycle"
    )
    parser.add_argument("--skip-in-process", action="store_true", help="only the actors' cycle")
    parser.add_argument("--skip-actors", action="store_true", help="only the in-process part")
    args = parser.parse_args()
    console = Console(width=120)
    if not args.skip_in_process:
        _in_process(args.bars, args.history, console)
    if args.skip_actors:
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        sizes = [int(n) for n in args.symbols.split(",")]
        _cycle_bench(ray, sizes, args.cycles, args.cycle_history, console)
    finally:
        ray.shutdown()


def _in_process(bars: int, history: int, console: Console) -> None:
    """Per-bar decision latency in-process, one symbol: the old path (analysts over the
    whole history, one LangGraph invocation per bar) against the live one (analysts'
    live state, the graph stepped by ``StraightRun``), deciding at every bar; then the
    live path at the default cadence (most data bars hold the last decision)."""
    settings = Settings()
    series = load_bars("bundled:BTC-USD-1h")[: history + bars]
    first = history
    every_bar = settings.graph.model_copy(update={"cadence": None})

    def graph(runner: str, whole_history: bool, cadenced: bool = False) -> DecisionGraph:
        config = settings.graph if cadenced else every_bar
        nodes = GraphNodes(analyse_bar=_whole_history) if whole_history else GraphNodes()
        return DecisionGraph(config.model_copy(update={"live_runner": runner}), nodes)

    old_graph = graph("langgraph", whole_history=True)
    runs = {
        "analysts, whole history": _analysts_step(list(old_graph.agents), live=False),
        "analysts, live state": _analysts_step(list(graph("straight", False).agents), True),
        "graph, whole history, LangGraph per bar": _graph_step(old_graph),
        "graph, live state, LangGraph per bar": _graph_step(graph("langgraph", False)),
        "graph, live state, straight run": _graph_step(graph("straight", False)),
        f"graph at {settings.graph.cadence} cadence, live state, straight run": _graph_step(
            graph("straight", False, cadenced=True)
        ),
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
    graphs = [v for k, v in results.items() if k.startswith("graph, ")]
    if any(r != graphs[0] for r in graphs):
        raise SystemExit("the decision graph paths disagree")

    old_path = "graph, whole history, LangGraph per bar"
    table = Table(title=f"Live decision latency, BTC/USD 1h, history {first} bars, {bars} bars")
    for column in ("path", "p50 ms", "mean ms", "x old p50"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, (p50, mean) in stats.items():
        baseline = "analysts, whole history" if name.startswith("analysts") else old_path
        old = stats[baseline]
        table.add_row(name, f"{p50:.3f}", f"{mean:.3f}", f"{old[0] / p50:.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
