"""StraightRun: the built decision graph stepped in the calling thread decides exactly as
LangGraph's invocation of the same graph, and refuses graphs it cannot step."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from sigmax.agents import Agent, GraphConfig, TrendAgent
from sigmax.graph import DecisionGraph
from sigmax.graph_runner import StraightRun
from sigmax.model import BarSeries, Signal


def _graph(runner: str) -> DecisionGraph:
    return DecisionGraph(GraphConfig(cadence=None, live_runner=runner))  # type: ignore[arg-type]


def test_straight_and_langgraph_decide_the_same_bar_after_bar(bars: BarSeries) -> None:
    straight, invoked = _graph("straight"), _graph("langgraph")
    first = max(straight.warmup - 5, 1)
    for i in range(first, min(first + 400, len(bars))):
        history = bars[: i + 1]
        assert straight.run_bar(history) == invoked.run_bar(history), f"bar {i}"
        assert straight.memory == invoked.memory, f"bar {i}"


def test_the_decision_graph_steps_as_langgraph_schedules_it() -> None:
    graph = _graph("straight")
    steps = graph._straight.steps
    assert steps[0] == tuple(f"analyst_{a.name}" for a in graph.agents)
    assert steps[1:] == (
        ("debate",),
        ("arbitrator",),
        ("optimiser",),
        ("turnover",),
        ("risk_gate",),
        ("decision",),
    )


class _Broken(TrendAgent):
    """An in-process analyst that fails on every live bar."""

    inline = True

    def follow(self, history: BarSeries) -> Signal | None:
        raise RuntimeError("indicator state lost")


def test_an_inline_analyst_that_raises_is_recorded_missing(bars: BarSeries) -> None:
    agents: list[Agent] = [TrendAgent(), _Broken(name="broken")]
    graph = DecisionGraph(GraphConfig(cadence=None), agents=agents)
    decision = graph.run_bar(bars[:300])
    assert decision.missing == ("broken",)
    assert "broken (failed: RuntimeError: indicator state lost)" in decision.rationale


class _State(TypedDict, total=False):
    seen: Annotated[list[str], operator.add]
    last: str


def _node(name: str, writes_last: bool = False) -> Any:
    def node(state: _State) -> dict[str, Any]:
        update: dict[str, Any] = {"seen": [f"{name}<{','.join(state.get('seen', []))}>"]}
        return {**update, "last": name} if writes_last else update

    return node


def _builder(*edges: tuple[str, str], writes_last: str = "c") -> StateGraph[Any]:
    builder: StateGraph[Any] = StateGraph(_State)
    for name in ("a", "b", "c"):
        builder.add_node(name, _node(name, writes_last=name in writes_last))
    for start, end in edges:
        builder.add_edge(start, end)
    return builder


def test_a_step_sees_the_state_as_it_began_and_reducers_apply() -> None:
    builder = _builder((START, "a"), (START, "b"), ("c", END))
    builder.add_edge(["a", "b"], "c")
    straight = StraightRun(builder, _State).invoke({"seen": []})
    invoked = builder.compile().invoke({"seen": []})
    assert straight == invoked
    assert straight["seen"] == ["a<>", "b<>", "c<a<>,b<>>"]
    assert straight["last"] == "c"


def test_two_writes_of_a_plain_key_in_one_step_are_refused_as_langgraph_does() -> None:
    builder = _builder((START, "a"), (START, "b"), writes_last="ab")
    with pytest.raises(ValueError, match="nodes 'a' and 'b' both wrote 'last' in one step"):
        StraightRun(builder, _State).invoke({"seen": []})
    with pytest.raises(Exception, match="Can receive only one value per step"):
        builder.compile().invoke({"seen": []})


def test_graphs_it_cannot_step_are_refused() -> None:
    twice = _builder((START, "a"), (START, "b"), ("a", "c"), ("b", "c"), ("c", END))
    with pytest.raises(ValueError, match="node 'c' has several plain edges"):
        StraightRun(twice, _State)
    branching = _builder((START, "a"), ("b", END), ("c", END))
    branching.add_conditional_edges("a", lambda _s: "b")
    with pytest.raises(ValueError, match="conditional edges"):
        StraightRun(branching, _State)


def test_nodes_no_path_reaches_are_not_run_as_in_langgraph() -> None:
    builder = _builder((START, "a"), ("a", END), ("b", "c"), ("c", "b"))
    assert StraightRun(builder, _State).steps == (("a",),)
    assert StraightRun(builder, _State).invoke({"seen": []}) == {"seen": ["a<>"]}
