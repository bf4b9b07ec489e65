"""Finding the actors of a running session by name (namespace ``sigmax``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ray

from actors import options
from sigmax.errors import UnavailableError


class SessionNotRunning(UnavailableError, LookupError):
    """No actor of that role and session is alive in the cluster: for a caller, the
    session is unavailable (start it, or try again); still a LookupError for old callers."""


@dataclass(frozen=True)
class SessionHandles:
    """Handles to one session's stateful actors."""

    session_id: str
    risk: Any
    execution: Any
    portfolio: Any
    decision_graph: Any  # None: the session's strategy is not the agent graph
    market_data: Any


def find(role: options.Role, session_id: str) -> Any:
    """The handle of ``role``'s actor of ``session_id``; SessionNotRunning when absent."""
    name = f"{role.name}:{session_id}"
    try:
        return ray.get_actor(name, namespace=options.NAMESPACE)
    except ValueError:
        raise SessionNotRunning(
            f"no actor {name!r} in namespace {options.NAMESPACE!r}: is `sigmax up` running "
            f"with session id {session_id!r}?"
        ) from None


def find_optional(role: options.Role, session_id: str) -> Any | None:
    """The handle of ``role``'s actor of ``session_id``; None when there is none."""
    try:
        return find(role, session_id)
    except SessionNotRunning:
        return None


def find_session(session_id: str) -> SessionHandles:
    """Every stateful actor of a running session (``sigmax up`` uses session id ``up``)."""
    return SessionHandles(
        session_id=session_id,
        risk=find(options.RISK, session_id),
        execution=find(options.EXECUTION, session_id),
        portfolio=find(options.PORTFOLIO, session_id),
        decision_graph=find_optional(options.DECISION_GRAPH, session_id),
        market_data=find(options.MARKET_DATA, session_id),
    )
