"""Approval mode routes: list and read proposals, approve or reject one.

Reads come from PostgreSQL (they work without a running session; a pending proposal
past its expiry shows as expired). Approve and reject go to the session's proposal
actor, which claims the proposal atomically, re-checks it with the risk actor and
sends it through the execution actor (``sigmax.trading.proposal_desk``); nothing here decides.

Approve answers 200 with ``executed_now`` true when this call executed it, or false when
an earlier approval already had (nothing sent twice); 200 with status ``failed`` when
risk refused it at approval time; 409 when it is expired, rejected, failed, or still
being executed by another approval; 404 for an unknown id.
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, ReadKey, TradeKey, operator_of
from serve_app.exceptions import Conflict, NotFound
from serve_app.schema import ApprovalOut, ProposalOut, ProposalReasonIn, ProposalStatusName
from sigmax.model import utc_now
from sigmax.proposals import (
    Proposal,
    ProposalStatus,
)
from sigmax.storage.repos.proposals import ProposalRepository

ProposalId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]

router = APIRouter(tags=["proposals"])


def _out(proposal: Proposal) -> ProposalOut:
    return ProposalOut.model_validate(proposal.to_json())


@router.get("/proposals", response_model=list[ProposalOut])
async def list_proposals(
    backend: BackendDep,
    _: ReadKey,
    status: Annotated[ProposalStatusName | None, Query(description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="most items, newest last")] = 100,
) -> list[ProposalOut]:
    """The session account's proposals, oldest first."""
    wanted = None if status is None else ProposalStatus(status)
    stored: list[ProposalStatus] | None = None
    if wanted is not None:  # a stored pending one may show as expired
        lazy = (ProposalStatus.PENDING, ProposalStatus.EXPIRED)
        stored = list(lazy) if wanted in lazy else [wanted]
    repo = ProposalRepository(await backend.pool())
    now = utc_now()
    found = [p.as_of(now) for p in await repo.recent(backend.account, stored, limit)]
    return [_out(p) for p in found if wanted is None or p.status is wanted]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut)
async def get_proposal(backend: BackendDep, _: ReadKey, proposal_id: ProposalId) -> ProposalOut:
    found = await ProposalRepository(await backend.pool()).get(backend.account, proposal_id)
    if found is None:
        raise NotFound(f"proposal {proposal_id!r} not found for account {backend.account!r}")
    return _out(found.as_of(utc_now()))


async def _desk(backend: Backend) -> Any:
    """The running session's proposal actor; 409 when the session trades in auto mode."""
    from actors.proposals import PROPOSALS
    from actors.registry import SessionNotRunning, find

    session = await backend.session()
    try:
        return await asyncio.to_thread(find, PROPOSALS, session.session_id)
    except SessionNotRunning:
        raise Conflict(
            f"session {session.session_id!r} trades in auto mode: start it with "
            "SIGMAX_TRADING__MODE=approval to get proposals"
        ) from None


@router.post("/proposals/{proposal_id}/approve", response_model=ApprovalOut)
async def approve_proposal(
    backend: BackendDep,
    principal: TradeKey,
    proposal_id: ProposalId,
    body: ProposalReasonIn | None = None,
) -> ApprovalOut:
    """Approve: risk checks the order again at the current price, then it is sent once."""
    desk = await _desk(backend)
    note = body.reason if body is not None else None
    outcome = await backend.call(
        desk, "approve", proposal_id, operator_of(principal), note, timeout=60
    )
    return ApprovalOut(executed_now=outcome.executed_now, proposal=_out(outcome.proposal))


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalOut)
async def reject_proposal(
    backend: BackendDep,
    principal: TradeKey,
    proposal_id: ProposalId,
    body: ProposalReasonIn | None = None,
) -> ProposalOut:
    """Reject a pending proposal (rejecting it again returns it); it is never executed."""
    desk = await _desk(backend)
    reason = body.reason if body is not None else None
    rejected = await backend.call(desk, "reject", proposal_id, operator_of(principal), reason)
    return _out(rejected)
