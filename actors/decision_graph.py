"""The decision graph as a Ray actor, fanning out to the agent actors in parallel."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayTaskError

from actors.options import NAMESPACE
from actors.session_metrics import timed_decision
from sigmax import tracing
from sigmax.agents.base import Agent, LiveStateGap
from sigmax.agents.config import GraphConfig
from sigmax.errors import UnavailableError
from sigmax.graph import DecisionGraph, GraphNodes
from sigmax.model import Bar, BarSeries, Decision, Signal, ts_from_ns
from sigmax.portfolio.allocation import allocated_optimiser
from sigmax.tracing import traced_actor
from sigmax.trading.multi_symbol import SymbolMemories, analyst_history, check_histories


class AgentCallFailed(UnavailableError):
    """An agent actor gave no signals for this bar (too slow, dead, or it failed); the
    graph records the agent as missing with this message."""


@ray.remote
@traced_actor
class DecisionGraphActor:
    """Runs the LangGraph graph per bar and symbol; the analysts are agent actors.

    ``decide_many`` asks every agent actor once for all the symbols of a bar (all agents
    at once, each answer awaited at most ``agent_timeout_s`` from the start), then runs
    the graph per symbol on those signals. A slow or dead agent actor is recorded as
    missing in every symbol's decision, so one agent cannot stall the bar loop. The
    graph's memory (hysteresis, turnover) is kept per symbol.
    """

    def __init__(
        self,
        config_json: str,
        agent_actor_names: dict[str, str],
        allocation_weight: float | None = None,
    ) -> None:
        # Names, not handles: a restarted graph actor finds its agents again by name,
        # and nothing it was built from lives in the object store.
        self.config = GraphConfig.model_validate_json(config_json)
        self.handles: dict[str, Any] = {
            agent: ray.get_actor(name, namespace=NAMESPACE)
            for agent, name in agent_actor_names.items()
        }
        self._sent_ts: dict[tuple[str, str], int] = {}  # (agent, symbol) -> last bar sent
        # (agent, symbol) -> (bar ns, its signal or why there is none), for this call
        self._fetched: dict[tuple[str, str], tuple[int, Signal | None | str]] = {}
        # the signals were fetched under their own deadline: a lookup, run inline
        nodes = GraphNodes(analyse_bar=self._fetched_signal, inline=_always)
        if allocation_weight is not None:  # the portfolio optimiser caps this symbol
            nodes = replace(nodes, optimise=allocated_optimiser(allocation_weight))
        self.graph = DecisionGraph(self.config, nodes)
        self._symbols = SymbolMemories(self.graph)
        unknown = {a.name for a in self.graph.agents} - set(self.handles)
        if unknown:
            raise ValueError(f"decision graph actor: no agent actor for {sorted(unknown)}")

    def decide(self, history: BarSeries) -> Decision:
        """The decision on the last bar of ``history``: ``decide_many`` of one symbol."""
        return self.decide_many({history.symbol: history})[history.symbol]

    def decide_many(self, histories: dict[str, BarSeries]) -> dict[str, Decision]:
        """One decision per symbol on the last bar of its history (oldest bar first,
        keyed by ``BarSeries.symbol``), with one call to each agent actor for them all."""
        check_histories(histories, "decision graph actor")
        if not histories:
            return {}
        with timed_decision():
            shown = {
                s: bars
                for s, h in histories.items()
                if (bars := analyst_history(self.config, h)) is not None
            }
            if shown:  # none between two decisions of a coarser cadence
                self._fetch(shown)
            try:
                return self._symbols.decide_many(histories)
            finally:
                self._fetched.clear()

    def analyze(self, history: BarSeries) -> Decision:
        """The decision on the last bar of ``history`` now, leaving the session's
        memory (the hysteresis state) untouched: the whole graph over the history."""
        series = self.graph.run_series(history)
        return series.decision_at(len(series) - 1)

    def decide_series(self, bars: BarSeries) -> list[float]:
        """Targets over a whole series (vectorised path), for warm starts and checks."""
        return [float(t) for t in self.graph.run_series(bars).target]

    def _fetch(self, histories: Mapping[str, BarSeries]) -> None:
        """Every agent's signals for the last bar of each history (the bars the analysts
        are shown: coarse bars under a cadence). All agent actors are asked at once,
        with only the new bar of each symbol whose state the agent holds in step (this
        actor sent it the bar before), the history otherwise (first bar, skipped bars,
        an agent without live state), and again with the histories of the symbols an
        agent says it lost (it restarted)."""
        deadline = time.monotonic() + self.config.agent_timeout_s
        bars = {s: h.bar(len(h) - 1) for s, h in histories.items()}
        previous = {s: ts_from_ns(h.ts[-2]) if len(h) > 1 else None for s, h in histories.items()}
        asked = {}
        for agent in self.graph.agents:
            sent = {s: h for s, h in histories.items() if not self._in_step(agent, h)}
            asked[agent] = (sent, self._ask(agent, bars, previous, sent))
        again = {}
        for agent, (sent, call) in asked.items():
            outcome = self._answer(agent, call, deadline)
            lost = _lost_symbols(outcome, histories, sent)
            if lost:
                sent = {**sent, **{s: histories[s] for s in lost}}
                again[agent] = (sent, self._ask(agent, bars, previous, sent))
            else:
                self._keep(agent, histories, outcome)
        for agent, (_sent, call) in again.items():
            self._keep(agent, histories, self._answer(agent, call, deadline))

    def _in_step(self, agent: Agent, history: BarSeries) -> bool:
        key = (agent.name, history.symbol)
        return (
            agent.incremental and len(history) > 1 and self._sent_ts.get(key) == int(history.ts[-2])
        )

    def _ask(
        self,
        agent: Agent,
        bars: dict[str, Bar],
        previous: dict[str, datetime | None],
        histories: dict[str, BarSeries],
    ) -> Any:
        return tracing.remote_call(
            self.handles[agent.name].analyze_bars, bars, previous, histories or None
        )

    def _answer(
        self, agent: Agent, call: Any, deadline: float
    ) -> dict[str, Signal | None] | str | Exception:
        """The agent actor's signals, or the exception it answered with (LiveStateGap is
        returned as such), or why there is no answer."""
        timeout = self.config.agent_timeout_s
        try:
            result: dict[str, Signal | None] = ray.get(
                call, timeout=max(deadline - time.monotonic(), 0.0)
            )
        except GetTimeoutError:
            return f"agent actor {agent.name} did not answer within {timeout:g} s"
        except Exception as exc:  # a dead or failing agent must not stop the bar
            return exc
        return result

    def _keep(
        self,
        agent: Agent,
        histories: Mapping[str, BarSeries],
        outcome: dict[str, Signal | None] | str | Exception,
    ) -> None:
        if isinstance(outcome, Exception):
            cause = outcome.cause if isinstance(outcome, RayTaskError) else outcome
            first_line = str(cause).splitlines()[0] if str(cause) else ""
            outcome = f"agent actor {agent.name}: {type(cause).__name__}: {first_line}"
        for symbol, history in histories.items():
            last = int(history.ts[-1])
            if isinstance(outcome, str):
                self._fetched[(agent.name, symbol)] = (last, outcome)
                self._sent_ts.pop((agent.name, symbol), None)
            elif symbol not in outcome:
                self._fetched[(agent.name, symbol)] = (last, f"no signal for {symbol}")
            else:
                self._fetched[(agent.name, symbol)] = (last, outcome[symbol])
                self._sent_ts[(agent.name, symbol)] = last

    def _fetched_signal(self, agent: Agent, history: BarSeries) -> Signal | None:
        """The graph's analyst node: the signal fetched for this bar by ``_fetch``."""
        fetched = self._fetched.get((agent.name, history.symbol))
        if fetched is None or fetched[0] != int(history.ts[-1]):
            raise AgentCallFailed(
                f"no signal fetched from agent {agent.name} for {history.symbol} "
                f"at {ts_from_ns(history.ts[-1])}"
            )
        signal = fetched[1]
        if isinstance(signal, str):
            raise AgentCallFailed(signal)
        return signal


def _lost_symbols(
    outcome: object, histories: Mapping[str, BarSeries], sent: Mapping[str, BarSeries]
) -> list[str]:
    """The symbols an agent actor says it has no state for (LiveStateGap) whose history
    was not sent yet; empty for any other answer."""
    cause = outcome.cause if isinstance(outcome, RayTaskError) else outcome
    if not isinstance(cause, LiveStateGap):
        return []
    return [s for s in cause.symbols if s in histories and s not in sent]


def _always(agent: Agent) -> bool:
    return True
