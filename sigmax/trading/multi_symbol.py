"""One decision graph deciding many symbols, each with its own memory.

A :class:`~sigmax.graph.DecisionGraph` remembers what its last ``run_bar`` left (the
optimiser's hysteresis state and the turnover control's state). A session with several
symbols runs one graph for all of them, so that memory must be kept per symbol:
:class:`SymbolMemories` keeps, for each symbol, the bar it last decided and the
:class:`~sigmax.graph.GraphMemory` that decision left, and hands it back for the next bar
of that symbol. When it has nothing in step (first bar of a symbol, bars skipped, a
restarted process), the memory is recomputed from the history with the vectorised
series, so the live decision stays the series' decision at that bar.
"""

from __future__ import annotations

from collections.abc import Mapping

from sigmax.agents.cadence import cadence_ns, closes_window, coarse_bars
from sigmax.agents.config import GraphConfig
from sigmax.graph import DecisionGraph, GraphMemory
from sigmax.model import BarSeries, Decision


def check_histories(histories: Mapping[str, BarSeries], who: str) -> None:
    """Raise ValueError naming the entry if a history is not a non-empty BarSeries keyed
    by its own symbol."""
    for symbol, history in histories.items():
        if not isinstance(history, BarSeries):
            raise ValueError(f"{who}: history for {symbol!r} is a {type(history).__name__}")
        if history.symbol != symbol:
            raise ValueError(
                f"{who}: history under {symbol!r} is of symbol {history.symbol!r}; "
                "key each history by its symbol"
            )
        if len(history) == 0:
            raise ValueError(f"{who}: history for {symbol!r} has no bars")


def analyst_history(config: GraphConfig, history: BarSeries) -> BarSeries | None:
    """The bars the graph's analysts are shown for the last bar of ``history`` (as
    ``DecisionGraph.run_bar`` does it): the history itself; with a ``cadence`` coarser
    than its bars, the coarse bars when this bar closes a window, and None between
    windows (the graph holds its target and asks no analyst)."""
    size = cadence_ns(config.cadence, history)
    if size is None:
        return history
    if not closes_window(history, size):
        return None
    return coarse_bars(history, size).bars


class SymbolMemories:
    """Runs ``graph.run_bar`` for many symbols, one at a time, each from its own memory.

    Not thread-safe: one caller at a time (it reads ``graph.memory`` after each run).
    """

    def __init__(self, graph: DecisionGraph) -> None:
        self.graph = graph
        self._memory: dict[str, tuple[int, GraphMemory]] = {}  # symbol -> (bar ns, memory)

    def memory_before(self, history: BarSeries) -> GraphMemory:
        """What the bar before the last of ``history`` left: remembered when this object
        decided that bar, else recomputed from ``history`` without its last bar."""
        if len(history) < 2:
            return GraphMemory()
        known = self._memory.get(history.symbol)
        if known is not None and known[0] == int(history.ts[-2]):
            return known[1]
        return self.graph.run_series(history[:-1]).memory_at(len(history) - 2)

    def decide(self, history: BarSeries) -> Decision:
        """The graph's decision on the last bar of ``history``; remembers what it left."""
        decision = self.graph.run_bar(history, self.memory_before(history))
        self._memory[history.symbol] = (int(history.ts[-1]), self.graph.memory)
        return decision

    def decide_many(self, histories: Mapping[str, BarSeries]) -> dict[str, Decision]:
        """One decision per symbol, each on the last bar of its history."""
        check_histories(histories, "decision graph")
        return {symbol: self.decide(history) for symbol, history in histories.items()}
