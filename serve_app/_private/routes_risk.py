"""/api/v1/risk: the risk engine's state, limits and events; pause, resume and the kill
switch. Every change is made and audited by the session's risk actor, naming the caller."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import json
from typing import Any

from fastapi import APIRouter, Response

from serve_app._private import versioning
from serve_app._private.backend import Backend
from serve_app._private.deps import (
    AdminKey,
    BackendDep,
    Limit,
    ReadKey,
    TradeKey,
    operator_of,
)
from serve_app._private.session_views import market_view
from serve_app.exceptions import Unprocessable
from serve_app.schema import LimitsIn, ReasonIn, ResumeIn, RiskEventOut, RiskStateOut
from sigmax.trading.controls import cancel_after_kill

router = APIRouter(prefix="/risk", tags=["risk"])


@router.get("/status", response_model=RiskStateOut)
async def risk_status(backend: BackendDep, _: ReadKey) -> RiskStateOut:
    return await _state(backend)


@router.get("/limits", response_model=dict[str, Any])
async def risk_limits(backend: BackendDep, _: ReadKey) -> dict[str, Any]:
    """The risk engine's current limits."""
    session = await backend.session()
    limits: dict[str, Any] = (await backend.call(session.risk, "snapshot"))["limits"]
    return limits


@router.put("/limits", response_model=dict[str, Any])
async def update_limits(backend: BackendDep, principal: TradeKey, body: LimitsIn) -> dict[str, Any]:
    """Change the fields given (others keep their value); audited as limits_change."""
    changes = body.model_dump(exclude_unset=True, mode="json")
    if not changes:
        raise Unprocessable("no limit given: send at least one field")
    session = await backend.session()
    raw = await backend.call(session.risk, "update_limits", changes, operator_of(principal))
    updated: dict[str, Any] = json.loads(raw)
    return updated


@router.post("/pause", response_model=RiskStateOut)
async def pause(backend: BackendDep, principal: TradeKey, body: ReasonIn) -> RiskStateOut:
    """Pause trading: only orders that shrink a position pass."""
    return await _risk_action(backend, "pause", body.reason, operator_of(principal))


@router.post("/resume", response_model=RiskStateOut)
async def resume(backend: BackendDep, principal: TradeKey, body: ResumeIn) -> RiskStateOut:
    """Resume; 409 while a breaker holds unless ``force`` (rebases peak equity)."""
    return await _risk_action(backend, "resume", operator_of(principal), body.force)


@router.post("/kill", response_model=RiskStateOut)
async def kill(backend: BackendDep, principal: TradeKey, body: ReasonIn) -> RiskStateOut:
    """Engage the kill switch: every order is rejected from now on, and every open order
    is cancelled at the venue (audited as control ``kill``); positions are kept."""
    from actors.ports import ExecutionPort

    operator = operator_of(principal)
    state = await _risk_action(backend, "kill", body.reason, operator)
    session = await backend.session()
    market = await market_view(backend, session)
    result = await backend.in_thread(cancel_after_kill, ExecutionPort(session.execution), market.ts)
    details = {"reason": body.reason, **result.audit_details()}
    await backend.call(session.risk, "record_control", "kill", operator, details)
    return state


@router.post("/kill/release", response_model=RiskStateOut)
async def release_kill(backend: BackendDep, principal: AdminKey) -> RiskStateOut:
    """Release the kill switch (admin scope); trading stays paused until resumed."""
    return await _risk_action(backend, "release_kill", operator_of(principal))


@router.post(
    "/emergency-stop",
    response_model=RiskStateOut,
    deprecated=True,
    summary="Deprecated alias of POST /api/v1/risk/kill",
)
async def emergency_stop(
    backend: BackendDep, principal: TradeKey, body: ReasonIn, response: Response
) -> RiskStateOut:
    """Deprecated: use ``POST /api/v1/risk/kill``. Answers with Deprecation, Sunset and
    a Link to the successor."""
    versioning.mark_deprecated(response, f"{versioning.PREFIX}/risk/kill")
    return await kill(backend, principal, body)


@router.get("/events", response_model=list[RiskEventOut])
async def risk_events(backend: BackendDep, _: ReadKey, limit: Limit = 100) -> list[RiskEventOut]:
    """The risk actor's audit records of state and limit changes, oldest first."""
    session = await backend.session()
    found = await backend.call(session.risk, "audit_records", "state_change", "limits_change")
    return [
        RiskEventOut(seq=r["seq"], ts=r["ts"], kind=r["kind"], payload=dict(r["payload"]))
        for r in found[-limit:]
    ]


async def _state(backend: Backend) -> RiskStateOut:
    session = await backend.session()
    return RiskStateOut.model_validate(await backend.call(session.risk, "status"))


async def _risk_action(backend: Backend, method: str, *args: Any) -> RiskStateOut:
    """One state change on the risk actor, then its state."""
    session = await backend.session()
    await backend.call(session.risk, method, *args)
    return await _state(backend)
