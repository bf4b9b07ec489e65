"""POST /api/v1/analyze/{symbol}: the decision graph run now, its decision returned."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from typing import Annotated

from fastapi import APIRouter, Path

from serve_app._private import convert
from serve_app._private.deps import PRINTABLE, AnalysisKey, BackendDep
from serve_app._private.session_views import symbol_history
from serve_app.exceptions import Conflict
from serve_app.schema import DecisionOut

router = APIRouter(tags=["analysis"])


@router.post("/analyze/{symbol}", response_model=DecisionOut)
async def analyze(
    backend: BackendDep,
    _: AnalysisKey,
    symbol: Annotated[
        str, Path(min_length=1, max_length=32, pattern=PRINTABLE, examples=["BTC-USD"])
    ],
) -> DecisionOut:
    """Run the decision graph now on the market-data actor's history (``BTC-USD`` or
    ``BTC%2FUSD``); the decision is returned, not traded."""
    session = await backend.session()
    history = await symbol_history(backend, session, symbol.replace("-", "/").upper())
    if session.decision_graph is None:
        raise Conflict(
            f"session {session.session_id!r} trades a strategy other than the agent graph "
            "(sigmax): it runs no decision graph to analyze with"
        )
    decided = await backend.call(session.decision_graph, "analyze", history, timeout=60)
    return convert.decision_out(decided)
