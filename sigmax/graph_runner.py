"""A built LangGraph ``StateGraph`` run node by node in the calling thread.

The decision graph is one ``StateGraph``: its nodes, edges and state reducers define the
analysts -> debate -> ... -> decision flow. A backtest invokes it once over a whole
series, where LangGraph's per-invocation work (task scheduling, a thread pool, channel
checkpoints: about 7 ms) does not matter. A live session invokes it once per symbol per
bar, where that overhead was nearly all of the decision's time. ``StraightRun`` reads
the same builder (nodes, edges, fan-in edges, reducers), groups the nodes once into
LangGraph's supersteps (a node runs in the step after the last node with an edge into
it), and then runs each step's node functions in the calling thread, each on the state
as the step began, merging their updates after the step the way LangGraph's channels do
(a key with a reducer is reduced, any other key replaced). Same topology, same
functions, same state; only the scheduler is different. Graphs with conditional edges
are refused: a straight run has no branches to take.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from langgraph.graph import END, START, StateGraph

Node = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
Reducer = Callable[[Any, Any], Any]


class StraightRun:
    """The nodes of a built ``StateGraph`` step by step, in the calling thread."""

    def __init__(self, builder: StateGraph[Any], state_schema: type) -> None:
        if any(builder.branches.values()):
            raise ValueError("graph runner: a graph with conditional edges cannot run straight")
        self.reducers = _reducers(state_schema)
        self.steps = _supersteps(builder)
        self._functions: tuple[tuple[Node, ...], ...] = tuple(
            tuple(_node_function(builder, name) for name in step) for step in self.steps
        )

    def invoke(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The final state after every node ran once: each step's nodes on the state as
        that step began, their updates merged in node order after it."""
        current = dict(state)
        for names, step in zip(self.steps, self._functions, strict=True):
            updates = [function(current) for function in step]
            self._merge(current, names, updates)
        return current

    def _merge(
        self,
        state: dict[str, Any],
        names: tuple[str, ...],
        updates: list[Mapping[str, Any] | None],
    ) -> None:
        written: dict[str, str] = {}  # key without a reducer -> node that wrote it
        for name, update in zip(names, updates, strict=True):
            for key, value in (update or {}).items():
                reducer = self.reducers.get(key)
                if reducer is None and key in written:
                    raise ValueError(
                        f"graph runner: nodes {written[key]!r} and {name!r} both wrote "
                        f"{key!r} in one step; give it a reducer (Annotated)"
                    )
                if reducer is not None and key in state:
                    state[key] = reducer(state[key], value)
                else:
                    written[key] = name
                    state[key] = value


def _reducers(state_schema: type) -> dict[str, Reducer]:
    """Each state key declared ``Annotated[T, reducer]``, with its reducer."""
    reducers = {}
    for key, hint in get_type_hints(state_schema, include_extras=True).items():
        if get_origin(hint) is Annotated:
            extra = get_args(hint)[1:]
            if extra and callable(extra[-1]):
                reducers[key] = extra[-1]
    return reducers


def _predecessors(builder: StateGraph[Any]) -> dict[str, set[str]]:
    before: dict[str, set[str]] = {name: set() for name in builder.nodes}
    for start, end in builder.edges:
        if end != END:
            if before[end]:  # LangGraph would run it once per edge, not once after all
                raise ValueError(
                    f"graph runner: node {end!r} has several plain edges into it; "
                    "join them with one fan-in edge"
                )
            before[end].add(start)
    for starts, end in builder.waiting_edges:
        if end != END:
            before[end].update(starts)
    # A node no path from START reaches never runs in LangGraph; it is left out here too.
    reached = {START}
    while grown := {n for n, e in before.items() if e and e <= reached and n not in reached}:
        reached |= grown
    return {name: edges - {START} for name, edges in before.items() if name in reached}


def _supersteps(builder: StateGraph[Any]) -> tuple[tuple[str, ...], ...]:
    """The nodes grouped by step: each step holds the nodes whose every predecessor ran
    in an earlier step (in the order the nodes were added)."""
    waiting = _predecessors(builder)
    steps: list[tuple[str, ...]] = []
    done: set[str] = set()
    while len(done) < len(waiting):  # every node left is reachable: each pass adds one
        ready = tuple(n for n, before in waiting.items() if n not in done and before <= done)
        steps.append(ready)
        done.update(ready)
    return tuple(steps)


def _node_function(builder: StateGraph[Any], name: str) -> Node:
    function = getattr(builder.nodes[name].runnable, "func", None)
    if not callable(function):
        raise ValueError(f"graph runner: node {name!r} is not a plain function")
    node: Node = function
    return node
