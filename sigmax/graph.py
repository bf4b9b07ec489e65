"""The decision graph: analysts -> bull/bear debate -> arbitrator -> optimiser -> turnover
control -> risk gate -> decision, as a LangGraph ``StateGraph`` with injected node
implementations.

One graph serves both paths. The backtest invokes it once over a whole series (every
node works on arrays with one column per bar); the live path runs it per bar (one
column, analysts called bar by bar under one deadline) through ``StraightRun``, which
steps the same built graph's nodes in the calling thread without LangGraph's
per-invocation machinery (``GraphConfig.live_runner="langgraph"`` invokes LangGraph
per bar instead; both decide the same). The debate, arbitrator, optimiser,
turnover control, risk gate and decision code is the same for both, so
``run_bar(bars[: i + 1], series.memory_at(i - 1))`` equals ``run_series(bars).decision_at(i)``.
"""

from __future__ import annotations

import contextvars
import operator
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Annotated, Any, Literal, Protocol, TypedDict

import numpy as np
import structlog
from langgraph.graph import END, START, StateGraph

from sigmax.agents.arbitrator import Arbitration, arbitrate
from sigmax.agents.base import Agent, SignalSeries, validate_bars
from sigmax.agents.cadence import cadence_ns, closes_window, coarse_bars, last_window
from sigmax.agents.config import (
    ArbitratorConfig,
    DebateConfig,
    GraphConfig,
    RiskGateConfig,
    SizingConfig,
    TurnoverConfig,
)
from sigmax.agents.debate import DebateResult, SignalMatrix, run_debate
from sigmax.agents.risk_gate import RiskOutcome, cap_leverage
from sigmax.agents.sizing import Sizing, vol_target
from sigmax.agents.turnover import TurnoverOutcome, TurnoverState, control_turnover
from sigmax.data.timeframes import timeframe_name, timeframe_ns
from sigmax.graph_agents import graph_agents
from sigmax.graph_runner import StraightRun
from sigmax.model import BarSeries, Decision, Signal, ts_from_ns

log = structlog.get_logger(__name__)

Mode = Literal["series", "bar"]


def _analyse_series(agent: Agent, bars: BarSeries) -> SignalSeries:
    return agent.analyze_series(bars)


def _analyse_bar(agent: Agent, history: BarSeries) -> Signal | None:
    return agent.follow(history)  # one bar through the agent's live state when in step


def _runs_inline(agent: Agent) -> bool:
    return agent.inline


@dataclass(frozen=True)
class GraphNodes:
    """The node implementations; swap any of them (e.g. for a call to a Ray actor)."""

    analyse_series: Callable[[Agent, BarSeries], SignalSeries] = _analyse_series
    analyse_bar: Callable[[Agent, BarSeries], Signal | None] = _analyse_bar
    #: Whether ``analyse_bar`` of an agent runs in the calling thread (quick, in-process
    #: work) rather than in a pool thread under ``GraphConfig.agent_timeout_s``.
    inline: Callable[[Agent], bool] = _runs_inline
    debate: Callable[[SignalMatrix, DebateConfig, ArbitratorConfig], DebateResult] = run_debate
    arbitrate: Callable[[DebateResult, ArbitratorConfig], Arbitration] = arbitrate
    optimise: Callable[
        [BarSeries, np.ndarray, np.ndarray, float, SizingConfig, ArbitratorConfig], Sizing
    ] = vol_target
    turnover: Callable[
        [BarSeries, np.ndarray, np.ndarray, TurnoverState, TurnoverConfig], TurnoverOutcome
    ] = control_turnover
    risk_gate: Callable[[np.ndarray, RiskGateConfig], RiskOutcome] = cap_leverage


@dataclass(frozen=True)
class GraphMemory:
    """What one bar's decision leaves for the next: the sized target (the hysteresis
    state of the optimiser) and the turnover control's state."""

    sized: float = 0.0
    turnover: TurnoverState = TurnoverState()
    target: float = 0.0  # the approved target, held between decisions (``cadence``)
    decided_ts: int | None = None  # open time of the (coarse) bar last decided on

    @classmethod
    def from_target(cls, previous_target: float) -> GraphMemory:
        """Memory known only by the previous sized target (a restart): that target is
        held, the holding time counts as over and the turnover budget as full."""
        value = float(previous_target)
        return cls(value, TurnoverState.fresh(value), value)


class GraphState(TypedDict, total=False):
    graph: DecisionGraph  # whose analysts, node implementations and config this run uses
    mode: Mode
    bars: BarSeries
    rows: np.ndarray  # indices of the bars decided on: all of them, or the last one
    previous: float  # sized target before rows[0], for the hysteresis
    memory: TurnoverState  # the turnover control's state before rows[0]
    pending: dict[str, Future[Signal | None]]  # bar mode: pooled analysts' work under way
    deadline: float  # bar mode: time.monotonic() by which the analysts must answer
    signals: Annotated[dict[str, SignalSeries], operator.or_]
    missing: Annotated[dict[str, str], operator.or_]  # agent -> why it gave no signal
    debate: DebateResult
    arbitration: Arbitration
    sizing: Sizing
    turnover: TurnoverOutcome
    risk: RiskOutcome
    result: DecisionSeries


@dataclass(frozen=True)
class DecisionSeries:
    """The graph's output over a run of bars (all of a series, or one live bar).

    ``target`` is the approved target position per bar (0 during warm-up, on the
    ``position_step`` grid); ``sized`` the optimiser's target (the hysteresis state);
    ``controlled`` the turnover control's target, before the risk gate. To replay bar
    ``i`` live, pass ``memory_at(i - 1)`` as ``previous_target``.
    """

    symbol: str
    ts: np.ndarray
    rows: np.ndarray
    agents: tuple[str, ...]
    warmup: int
    signals: dict[str, SignalSeries]
    missing: dict[str, str]
    debate: DebateResult
    arbitration: Arbitration
    sizing: Sizing
    turnover: TurnoverOutcome
    risk: RiskOutcome
    config: GraphConfig

    @property
    def target(self) -> np.ndarray:
        return self.risk.target

    @property
    def sized(self) -> np.ndarray:
        return self.sizing.target

    @property
    def controlled(self) -> np.ndarray:
        return self.turnover.target

    def memory_at(self, j: int) -> GraphMemory:
        """What the decision at position ``j`` leaves for the next bar."""
        return GraphMemory(
            float(self.sizing.target[j]),
            self.turnover.state_at(j),
            float(self.risk.target[j]),
            int(self.ts[j]),
        )

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def decision_at(self, j: int) -> Decision:
        """The full Decision at position ``j`` of this run."""
        signals = tuple(s for a in self.agents if (s := self.signals[a].signal_at(j)) is not None)
        missing = tuple(a for a in self.agents if not self.signals[a].has_signal(j))
        return Decision(
            ts=ts_from_ns(self.ts[j]),
            symbol=self.symbol,
            target_position=float(self.risk.target[j]),
            signals=signals,
            bull_case=self.debate.case_text(j, "bull", self.signals),
            bear_case=self.debate.case_text(j, "bear", self.signals),
            rationale=self._rationale(j, missing),
            missing=missing,
            risk_verdict=self.risk.verdict_at(j),
        )

    def _rationale(self, j: int, missing: tuple[str, ...]) -> str:
        row = int(self.rows[j])
        if row < self.warmup - 1:
            text = f"Warm-up: bar {row + 1} of {self.warmup} needed; target 0."
        else:
            c = self.config
            text = (
                f"{self.arbitration.rationale(j, self.debate, c.arbitrator)} "
                f"{self.sizing.rationale(j, c.optimiser)} "
                f"{self.turnover.rationale(j, c.turnover)} Risk gate: "
                f"{self.risk.verdict_at(j).reason}; final target {self.risk.target[j]:+.2f}."
            )
        if missing:
            why = ", ".join(f"{a} ({self.missing.get(a, 'no signal yet')})" for a in missing)
            text += f" Missing: {why}."
        return text


@dataclass(frozen=True)
class CadencedSeries(DecisionSeries):
    """Decisions of a graph with a ``cadence`` coarser than the data.

    The inherited fields describe the decisions on the coarse bars (``ts``/``rows`` are
    theirs); ``len``, ``target``, ``sized``, ``controlled``, ``memory_at`` and
    ``decision_at`` are per data bar: a bar that closes a window carries that window's
    decision, the bars in between hold it.
    """

    cadence: str = ""
    fine_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    window: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    decided: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return int(self.fine_ts.shape[0])

    def _per_bar(self, coarse: np.ndarray) -> np.ndarray:
        if coarse.shape[0] == 0:
            return np.zeros(len(self))
        return np.where(self.window >= 0, coarse[np.maximum(self.window, 0)], 0.0)

    @property
    def target(self) -> np.ndarray:
        return self._per_bar(self.risk.target)

    @property
    def sized(self) -> np.ndarray:
        return self._per_bar(self.sizing.target)

    @property
    def controlled(self) -> np.ndarray:
        return self._per_bar(self.turnover.target)

    def memory_at(self, j: int) -> GraphMemory:
        k = int(self.window[j])
        return GraphMemory() if k < 0 else super().memory_at(k)

    def decision_at(self, j: int) -> Decision:
        k = int(self.window[j])
        ts = ts_from_ns(int(self.fine_ts[j]))
        if self.decided[j]:
            return decided_here(super().decision_at(k), ts, self.cadence)
        memory = GraphMemory() if k < 0 else super().memory_at(k)
        return holding(self.symbol, ts, self.cadence, memory)


def decided_here(decision: Decision, ts: Any, cadence: str) -> Decision:
    """A coarse bar's decision as the data bar that closed its window reports it."""
    text = f"Decided on the {cadence} bar of {decision.ts.isoformat()}, closed by this bar. "
    return replace(decision, ts=ts, rationale=text + decision.rationale)


def holding(symbol: str, ts: Any, cadence: str, memory: GraphMemory) -> Decision:
    """The decision of a data bar between two decisions: the last target, held."""
    if memory.decided_ts is None:
        why = f"no {cadence} bar has closed yet; target {memory.target:+.2f}."
    else:
        since = ts_from_ns(memory.decided_ts).isoformat()
        why = f"holding {memory.target:+.2f} as decided on the {cadence} bar of {since}."
    return Decision(
        ts=ts,
        symbol=symbol,
        target_position=memory.target,
        signals=(),
        bull_case="",
        bear_case="",
        rationale=f"Between decisions (the graph decides on {cadence} bars): {why}",
    )


class DecisionGraph:
    """Runs the analysts, debate, arbitrator, optimiser and risk gate for one symbol."""

    def __init__(
        self,
        config: GraphConfig | None = None,
        nodes: GraphNodes | None = None,
        agents: Sequence[Agent] | None = None,
    ) -> None:
        self.config = config or GraphConfig()
        self.nodes = nodes or GraphNodes()
        self.agents = tuple(agents) if agents is not None else tuple(graph_agents(self.config))
        names = [a.name for a in self.agents]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"decision graph: agent names must be unique and non-empty: {names}")
        self.warmup = max([a.warmup for a in self.agents] + [self.config.optimiser.vol_window + 1])
        self._memory = GraphMemory()
        self._pool = ThreadPoolExecutor(
            max_workers=2 * len(self.agents), thread_name_prefix="agent"
        )
        self._graph, self._straight = _compiled(tuple(names))

    def run_series(self, bars: BarSeries) -> DecisionSeries:
        """Decisions for every bar of ``bars`` in one invocation of the graph."""
        validate_bars(bars, "decision graph")
        size = cadence_ns(self.config.cadence, bars)
        if size is None:
            return self._run_series(bars)
        coarse = coarse_bars(bars, size)
        decided = np.zeros(len(bars), dtype=bool)
        decided[coarse.close_rows] = True
        inner = self._run_series(coarse.bars) if len(coarse.bars) else self._empty(coarse.bars)
        return CadencedSeries(
            **{f: getattr(inner, f) for f in DecisionSeries.__dataclass_fields__},
            cadence=coarse.bars.timeframe,
            fine_ts=bars.ts.copy(),
            window=last_window(coarse.close_rows, len(bars)),
            decided=decided,
        )

    def _empty(self, bars: BarSeries) -> DecisionSeries:
        """A run over no bars (no window closed yet)."""
        signals = {a.name: SignalSeries.missing(a.name, 0) for a in self.agents}
        names = [a.name for a in self.agents]
        matrix = SignalMatrix.from_series(names, signals, self.config.arbitrator)
        debate = self.nodes.debate(matrix, self.config.debate, self.config.arbitrator)
        arbitration = self.nodes.arbitrate(debate, self.config.arbitrator)
        none = np.zeros(0)
        sizing = Sizing(none, none, none)
        turnover = control_turnover(
            bars, none, np.zeros(0, bool), TurnoverState.fresh(), self.config.turnover
        )
        risk = self.nodes.risk_gate(none, self.config.risk)
        return DecisionSeries(
            bars.symbol,
            bars.ts,
            np.arange(0),
            tuple(names),
            self.warmup,
            signals,
            {},
            debate,
            arbitration,
            sizing,
            turnover,
            risk,
            self.config,
        )

    def _run_series(self, bars: BarSeries) -> DecisionSeries:
        rows = np.arange(len(bars))
        start = {"previous": 0.0, "memory": TurnoverState.fresh()}
        series = {"graph": self, "mode": "series", "bars": bars, "rows": rows, **start}
        state = self._graph.invoke(series)
        result: DecisionSeries = state["result"]
        return result

    def run_bar(
        self, history: BarSeries, previous_target: float | GraphMemory | None = None
    ) -> Decision:
        """The Decision for the last bar of ``history`` (live path).

        ``previous_target`` is what the previous bar left: a ``GraphMemory``
        (``DecisionSeries.memory_at``, ``DecisionGraph.memory``), or only the previous
        sized target as a float (``GraphMemory.from_target``: the holding time counts as
        over and the budget as full); None uses what this graph remembers from its last
        ``run_bar`` (a fresh start at first).
        """
        if len(history) == 0:
            raise ValueError("decision graph: run_bar needs at least one bar")
        if previous_target is None:
            memory = self._memory
        elif isinstance(previous_target, GraphMemory):
            memory = previous_target
        else:
            memory = GraphMemory.from_target(previous_target)
        size = cadence_ns(self.config.cadence, history)
        if size is None:
            return self._run_bar(history, memory)
        ts = ts_from_ns(int(history.ts[-1]))
        cadence = timeframe_name(size)
        if not closes_window(history, size):  # checked on the last bar: O(1), not O(history)
            self._memory = memory
            return holding(history.symbol, ts, cadence, memory)
        coarse = coarse_bars(history, size)
        return decided_here(self._run_bar(coarse.bars, memory), ts, cadence)

    def _run_bar(self, history: BarSeries, memory: GraphMemory) -> Decision:
        rows = np.array([len(history) - 1])
        start = {
            "graph": self,
            "mode": "bar",
            "bars": history,
            "rows": rows,
            "previous": memory.sized,
            "memory": memory.turnover,
            **self._dispatch_analysts(history),
        }
        if self.config.live_runner == "langgraph":
            state = self._graph.invoke(start)
        else:
            state = self._straight.invoke(start)
        result: DecisionSeries = state["result"]
        self._memory = result.memory_at(0)
        return result.decision_at(0)

    def data_warmup(self, timeframe: str) -> int:
        """Bars of ``timeframe`` needed before the first decision out of warm-up:
        ``warmup`` itself, or ``warmup`` coarse bars' worth (and one more window, as the
        first may be partial) when the graph decides on a coarser ``cadence``."""
        size = timeframe_ns(self.config.cadence) if self.config.cadence else 0
        step = timeframe_ns(timeframe)
        if size <= step:
            return self.warmup
        return (self.warmup + 1) * (size // step)

    @property
    def memory(self) -> GraphMemory:
        """What the last ``run_bar`` left for the next bar."""
        return self._memory

    def reset(self) -> None:
        """Forget the hysteresis and turnover state (start of a new series)."""
        self._memory = GraphMemory()

    def close(self) -> None:
        """Stop waiting for analysts still running past their deadline."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _analyse(self, state: GraphState, index: int) -> dict[str, Any]:
        """Analyst ``index``'s signals: over the series, or on the last bar."""
        agent = self.agents[index]
        if state["mode"] == "series":
            return self._series_signals(agent, state["bars"])
        future = state["pending"].get(agent.name)
        if future is None:
            return self._inline_signal(agent, state["bars"])
        return self._bar_signal(agent, future, state["deadline"])

    def _dispatch_analysts(self, history: BarSeries) -> dict[str, Any]:
        """The pooled analysts' work on the last bar, all started at once, and the one
        deadline they share; each analyst node then waits for its own (an inline analyst
        runs in its node)."""
        # The caller's context (trace span, request id) goes with the work: pool threads
        # do not inherit context variables.
        analyse = self.nodes.analyse_bar
        pending = {
            agent.name: self._pool.submit(contextvars.copy_context().run, analyse, agent, history)
            for agent in self.agents
            if not self.nodes.inline(agent)
        }
        return {"pending": pending, "deadline": time.monotonic() + self.config.agent_timeout_s}

    def _inline_signal(self, agent: Agent, history: BarSeries) -> dict[str, Any]:
        try:
            signal = self.nodes.analyse_bar(agent, history)
        except Exception as exc:  # an analyst's failure must not stop the graph
            return self._missing_signal(agent, f"failed: {type(exc).__name__}: {exc}")
        return {"signals": {agent.name: SignalSeries.from_signals(agent.name, [signal])}}

    def _missing_signal(self, agent: Agent, reason: str) -> dict[str, Any]:
        log.warning("analyst missing", agent=agent.name, reason=reason)
        return {
            "signals": {agent.name: SignalSeries.missing(agent.name, 1)},
            "missing": {agent.name: reason},
        }

    def _series_signals(self, agent: Agent, bars: BarSeries) -> dict[str, Any]:
        if not agent.vectorised:
            series = SignalSeries.missing(agent.name, len(bars))
            return {"signals": {agent.name: series}, "missing": {agent.name: "per-bar only"}}
        return {"signals": {agent.name: self.nodes.analyse_series(agent, bars)}}

    def _bar_signal(
        self, agent: Agent, future: Future[Signal | None], deadline: float
    ) -> dict[str, Any]:
        try:
            signal = future.result(timeout=max(deadline - time.monotonic(), 0.0))
        except FutureTimeout:
            future.cancel()
            return self._missing_signal(agent, f"timed out after {self.config.agent_timeout_s:g} s")
        except Exception as exc:  # an analyst's failure must not stop the graph
            return self._missing_signal(agent, f"failed: {type(exc).__name__}: {exc}")
        return {"signals": {agent.name: SignalSeries.from_signals(agent.name, [signal])}}

    def _debate(self, state: GraphState) -> dict[str, Any]:
        names = [a.name for a in self.agents]
        matrix = SignalMatrix.from_series(names, state["signals"], self.config.arbitrator)
        return {"debate": self.nodes.debate(matrix, self.config.debate, self.config.arbitrator)}

    def _arbitrate(self, state: GraphState) -> dict[str, Any]:
        return {"arbitration": self.nodes.arbitrate(state["debate"], self.config.arbitrator)}

    def _optimise(self, state: GraphState) -> dict[str, Any]:
        warm = state["rows"] >= self.warmup - 1
        raw = np.where(warm, state["arbitration"].raw, 0.0)
        sizing = self.nodes.optimise(
            state["bars"],
            state["rows"],
            raw,
            state["previous"],
            self.config.optimiser,
            self.config.arbitrator,
        )
        return {"sizing": sizing}

    def _turnover(self, state: GraphState) -> dict[str, Any]:
        arbitration = state["arbitration"]
        veto = arbitration.veto
        if veto is None:
            veto = np.zeros(state["rows"].shape, dtype=bool)
        outcome = self.nodes.turnover(
            state["bars"], state["sizing"].target, veto, state["memory"], self.config.turnover
        )
        return {"turnover": outcome}

    def _risk_gate(self, state: GraphState) -> dict[str, Any]:
        return {"risk": self.nodes.risk_gate(state["turnover"].target, self.config.risk)}

    def _decide(self, state: GraphState) -> dict[str, Any]:
        bars, rows = state["bars"], state["rows"]
        result = DecisionSeries(
            symbol=bars.symbol,
            ts=bars.ts[rows],
            rows=rows,
            agents=tuple(a.name for a in self.agents),
            warmup=self.warmup,
            signals=state["signals"],
            missing=state.get("missing", {}),
            debate=state["debate"],
            arbitration=state["arbitration"],
            sizing=state["sizing"],
            turnover=state["turnover"],
            risk=state["risk"],
            config=self.config,
        )
        return {"result": result}


GraphStep = Callable[[DecisionGraph, GraphState], dict[str, Any]]


class StateNode(Protocol):
    """A node as LangGraph calls it (by the parameter's name, ``state``)."""

    def __call__(self, state: GraphState) -> dict[str, Any]: ...


@lru_cache(maxsize=64)
def _compiled(agent_names: tuple[str, ...]) -> tuple[Any, StraightRun]:
    """The graph for these analysts, compiled once per process and shared by every
    ``DecisionGraph`` with the same analysts (compiling took about 4 ms, a tenth of a
    backtest): its nodes take the instance whose run it is from the state's ``graph``."""
    builder = StateGraph(GraphState)
    analyst_nodes = []
    for index, name in enumerate(agent_names):
        node = f"analyst_{name}"
        builder.add_node(node, _node(partial(DecisionGraph._analyse, index=index)))
        builder.add_edge(START, node)
        analyst_nodes.append(node)
    builder.add_node("debate", _node(DecisionGraph._debate))
    builder.add_node("arbitrator", _node(DecisionGraph._arbitrate))
    builder.add_node("optimiser", _node(DecisionGraph._optimise))
    builder.add_node("turnover", _node(DecisionGraph._turnover))
    builder.add_node("risk_gate", _node(DecisionGraph._risk_gate))
    builder.add_node("decision", _node(DecisionGraph._decide))
    builder.add_edge(analyst_nodes, "debate")
    builder.add_edge("debate", "arbitrator")
    builder.add_edge("arbitrator", "optimiser")
    builder.add_edge("optimiser", "turnover")
    builder.add_edge("turnover", "risk_gate")
    builder.add_edge("risk_gate", "decision")
    builder.add_edge("decision", END)
    return builder.compile(), StraightRun(builder, GraphState)


def _node(step: GraphStep) -> StateNode:
    def node(state: GraphState) -> dict[str, Any]:
        return step(state["graph"], state)

    return node
