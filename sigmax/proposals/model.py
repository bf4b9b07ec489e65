"""A trade proposal: the order the decision graph wants, waiting for an operator.

State machine (anything else raises :class:`IllegalProposalTransition`)::

    pending ──approve──► approved ──► executed   (risk passed again, order sent)
       │                    └───────► failed     (risk refused at approval time)
       ├──reject──► rejected
       └──(expires_at passed)──► expired

The proposal's id is also the client order id of the order it sends, so the venue's
idempotent submit guards against a second execution as well.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sigmax.errors import ConflictError, NotFoundError, SigmaxError
from sigmax.model import Decision, OrderRequest, OrderType, RiskVerdict, Side, TimeInForce
from sigmax.serialize import decision_json, order_request_json, verdict_json


class ProposalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTED = "executed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self not in (ProposalStatus.PENDING, ProposalStatus.APPROVED)


# Which states each state can be reached from.
SOURCES: dict[ProposalStatus, tuple[ProposalStatus, ...]] = {
    ProposalStatus.APPROVED: (ProposalStatus.PENDING,),
    ProposalStatus.REJECTED: (ProposalStatus.PENDING,),
    ProposalStatus.EXPIRED: (ProposalStatus.PENDING,),
    ProposalStatus.EXECUTED: (ProposalStatus.APPROVED,),
    ProposalStatus.FAILED: (ProposalStatus.APPROVED,),
}


class ProposalError(SigmaxError):
    """Base of the proposal errors; each subclass is in one category."""


class ProposalNotFound(ProposalError, NotFoundError):
    """No proposal with that id for the account."""


class IllegalProposalTransition(ProposalError, ConflictError):
    """The proposal cannot move from its current state to the one asked for."""

    def __init__(self, message: str, proposal: Proposal | None = None) -> None:
        super().__init__(message)
        self.proposal = proposal


class ProposalExpired(IllegalProposalTransition):
    """The proposal's expires_at has passed: it can no longer be approved or rejected."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """One proposed order with everything it was decided on.

    ``decision`` is the decision's JSON form (every agent's signal, the debate, the
    arbitrator's rationale, the graph's risk verdict); ``proposed_verdict`` the risk
    engine's verdict when the order was proposed; ``result`` what approval produced
    (the order's state at the venue and the approval-time verdict, or the refusal).
    """

    id: str
    account: str
    session_id: str
    order: OrderRequest
    decision: dict[str, Any]
    proposed_verdict: dict[str, Any] | None
    reference_price: Decimal
    created_at: datetime
    expires_at: datetime
    status: ProposalStatus = ProposalStatus.PENDING
    updated_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    result: dict[str, Any] | None = None

    @property
    def symbol(self) -> str:
        return self.order.symbol

    def is_due(self, now: datetime) -> bool:
        """Pending and past its expiry: it must become expired."""
        return self.status is ProposalStatus.PENDING and self.expires_at <= now

    def can_move(self, to: ProposalStatus) -> bool:
        return self.status in SOURCES.get(to, ())

    def check_move(self, to: ProposalStatus, now: datetime) -> None:
        """Raise when ``to`` is not reachable now (expired proposals included)."""
        expired = self.is_due(now) or self.status is ProposalStatus.EXPIRED
        if to in (ProposalStatus.APPROVED, ProposalStatus.REJECTED) and expired:
            raise ProposalExpired(
                f"proposal {self.id} expired at {self.expires_at.isoformat()}: "
                f"it can no longer be {to.value}",
                self,
            )
        if not self.can_move(to):
            by = f" by {self.decided_by}" if self.decided_by else ""
            raise IllegalProposalTransition(
                f"proposal {self.id} is {self.status.value}{by}: it cannot become {to.value}",
                self,
            )

    def moved(
        self,
        to: ProposalStatus,
        now: datetime,
        *,
        by: str | None = None,
        reason: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> Proposal:
        """This proposal in state ``to`` (checked); approve and reject record who and when."""
        self.check_move(to, now)
        decided = to in (ProposalStatus.APPROVED, ProposalStatus.REJECTED)
        return replace(
            self,
            status=to,
            updated_at=now,
            decided_by=by if decided else self.decided_by,
            decided_at=now if decided else self.decided_at,
            reason=reason if reason is not None else self.reason,
            result=result if result is not None else self.result,
        )

    def as_of(self, now: datetime) -> Proposal:
        """What a reader sees at ``now``: a due proposal shows as expired."""
        if not self.is_due(now):
            return self
        return self.moved(ProposalStatus.EXPIRED, now, reason=_expiry_reason(self))

    def to_json(self) -> dict[str, Any]:
        """JSON values only: Decimals as strings, datetimes ISO 8601."""
        return {
            "id": self.id,
            "account": self.account,
            "session_id": self.session_id,
            "symbol": self.symbol,
            "status": self.status.value,
            "order": order_request_json(self.order),
            "reference_price": str(self.reference_price),
            "decision": self.decision,
            "proposed_verdict": self.proposed_verdict,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
            "reason": self.reason,
            "result": self.result,
        }


def expire(proposal: Proposal, now: datetime) -> Proposal:
    """The due ``proposal`` as expired, with the reason saying when."""
    return proposal.moved(ProposalStatus.EXPIRED, now, reason=_expiry_reason(proposal))


def _expiry_reason(proposal: Proposal) -> str:
    return f"not approved before {proposal.expires_at.isoformat()}"


def new_proposal(
    decision: Decision,
    order: OrderRequest,
    verdict: RiskVerdict | None,
    reference_price: Decimal,
    *,
    account: str,
    session_id: str,
    now: datetime,
    ttl_s: float,
) -> Proposal:
    """A pending proposal for ``order``, named by its client order id."""
    if ttl_s <= 0:
        raise ValueError(f"proposal ttl_s must be > 0, got {ttl_s}")
    if now.tzinfo is None:
        raise ValueError("proposal time must be timezone-aware")
    return Proposal(
        id=order.client_order_id,
        account=account,
        session_id=session_id,
        order=order,
        decision=decision_json(decision),
        proposed_verdict=None if verdict is None else verdict_json(verdict),
        reference_price=reference_price,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        updated_at=now,
    )


def order_request_from_json(data: dict[str, Any]) -> OrderRequest:
    """The OrderRequest of :func:`sigmax.serialize.order_request_json` (exact Decimals)."""

    def money(key: str) -> Decimal | None:
        value = data.get(key)
        return None if value is None else Decimal(str(value))

    return OrderRequest(
        client_order_id=str(data["client_order_id"]),
        symbol=str(data["symbol"]),
        side=Side(data["side"]),
        qty=Decimal(str(data["qty"])),
        type=OrderType(data["type"]),
        limit_price=money("limit_price"),
        stop_price=money("stop_price"),
        tif=TimeInForce(data["tif"]),
        reduce_only=bool(data["reduce_only"]),
    )
