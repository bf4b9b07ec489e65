"""POST /api/v1/control/{start,pause,stop,panic}: an operator acts on the served session.

``start`` resumes trading of the running session (``sigmax up`` starts sessions);
``pause`` is POST /risk/pause; ``stop`` and ``panic`` run :mod:`sigmax.trading.controls`
through the actor ports. Scopes: start, pause and stop need ``trade``; panic
``admin``. Every action, refused ones included, is audited on the risk actor (kind
``control``) with the key's id and name.
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import time
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from serve_app._private import convert
from serve_app._private.auth import Principal
from serve_app._private.backend import Backend, Session
from serve_app._private.deps import BackendDep, TradeKey, guard, operator_of
from serve_app._private.errors import expected_answer
from serve_app._private.session_views import last_prices, market_view
from serve_app.schema import ControlOut, ControlReasonIn, RefusedOut, StartIn
from sigmax.trading.controls import ControlResult, panic, stop_trading

PanicKey = Annotated[Principal, Depends(guard("admin", "trading"))]

router = APIRouter(prefix="/control", tags=["control"])


@router.post("/start", response_model=ControlOut)
async def start(backend: BackendDep, principal: TradeKey, body: StartIn) -> ControlOut:
    """Resume trading of the running session (also after a stop: the session takes bars
    again). 409 while killed, or while a cause still holds unless ``force``."""
    session = await backend.session()
    operator = operator_of(principal)
    await _risk_call(backend, session, "start", operator, "resume", operator, body.force)
    return await _answer(backend, session, "start", operator, None, {"force": body.force})


@router.post("/pause", response_model=ControlOut)
async def pause(backend: BackendDep, principal: TradeKey, body: ControlReasonIn) -> ControlOut:
    """Pause trading: only reduce-only orders that shrink a position pass."""
    session = await backend.session()
    operator = operator_of(principal)
    await _risk_call(backend, session, "pause", operator, "pause", body.reason, operator)
    return await _answer(backend, session, "pause", operator, None, {"reason": body.reason})


@router.post("/stop", response_model=ControlOut)
async def stop(backend: BackendDep, principal: TradeKey, body: ControlReasonIn) -> ControlOut:
    """Stop the session gracefully: no new decisions (risk paused, cause ``stopped``),
    every open order cancelled, positions kept. ``start`` continues it."""
    from actors.ports import ExecutionPort, RiskPort

    session = await backend.session()
    operator = operator_of(principal)
    market = await market_view(backend, session)
    result = await backend.in_thread(
        stop_trading,
        RiskPort(session.risk),
        ExecutionPort(session.execution),
        market.ts,
        operator,
        body.reason,
    )
    return await _answer(backend, session, "stop", operator, result, {"reason": body.reason})


@router.post("/panic", response_model=ControlOut)
async def panic_now(backend: BackendDep, principal: PanicKey, body: ControlReasonIn) -> ControlOut:
    """Pause, cancel every open order and close every position with reduce-only market
    orders through the risk engine's emergency path (admin scope). A killed session
    stays killed and is flattened all the same."""
    from actors.ports import ExecutionPort, RiskPort

    session = await backend.session()
    operator = operator_of(principal)
    market = await market_view(backend, session)
    prices = await last_prices(backend, session)
    book = await backend.call(session.portfolio, "summary", prices)
    positions = {symbol: Decimal(qty) for symbol, qty in book["positions"].items()}
    result = await backend.in_thread(
        panic,
        RiskPort(session.risk),
        ExecutionPort(session.execution),
        positions,
        prices,
        Decimal(book["equity"]),
        market.ts,
        operator,
        f"panic-{time.time_ns()}",
    )
    return await _answer(backend, session, "panic", operator, result, {"reason": body.reason})


async def _risk_call(
    backend: Backend, session: Session, action: str, operator: str, method: str, *args: Any
) -> None:
    """One state change on the risk actor; a refusal is audited, then answered (409)."""
    try:
        await backend.call(session.risk, method, *args)
    except Exception as exc:
        refused = expected_answer(exc)
        if refused is not None:
            details = {"refused": refused.detail, "status": refused.status}
            await backend.call(session.risk, "record_control", action, operator, details)
        raise


async def _answer(
    backend: Backend,
    session: Session,
    action: str,
    operator: str,
    result: ControlResult | None,
    request: dict[str, Any],
) -> ControlOut:
    """Audit the action with its outcome and answer with the risk state after it."""
    status = await backend.call(session.risk, "status")
    details = {**request, **(result.audit_details() if result else {}), "state": status["state"]}
    await backend.call(session.risk, "record_control", action, operator, details)
    out = result or ControlResult(action)
    return ControlOut(
        action=action,
        state=status["state"],
        reason=status.get("reason"),
        cause=status.get("cause"),
        cancelled=[convert.order_out(o) for o in out.cancelled],
        sent=[convert.order_out(o) for o in out.sent],
        refused=[RefusedOut(symbol=r.symbol, qty=r.qty, reason=r.reason) for r in out.refused],
        notes=out.notes,
    )
