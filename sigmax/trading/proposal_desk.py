"""The approval flow: propose, expire, approve (risk again, then execute once), reject.

:class:`ProposalDesk` keeps no state of its own: the store (PostgreSQL in production)
decides every race with a guarded update, so two operators approving at once, or one
approving twice, execute the order once. Approval re-checks the order with the risk
engine at the current price and sends it through the venue in one step (``execute``,
the same path as an operator's manual order); a refusal marks the proposal failed.

Answers to approving a proposal that is not pending: executed already → the proposal
(the same outcome, nothing sent again); expired → :class:`ProposalExpired`; rejected or
failed → :class:`IllegalProposalTransition`; approved (still executing) → the same,
unless the approval is stuck (older than ``stuck_after_s``: the approving process died
between the claim and the venue), which a later approve recovers: an order found at the
venue under the proposal's id makes it executed without sending again; otherwise, before
its expiry, it is re-checked and sent, and after its expiry it fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sigmax.events.model import jsonable, order_state_data
from sigmax.model import Decision, Order, OrderRequest, RiskCheck, RiskVerdict, utc_now
from sigmax.proposals.model import (
    IllegalProposalTransition,
    Proposal,
    ProposalNotFound,
    ProposalStatus,
    expire,
    new_proposal,
)
from sigmax.serialize import verdict_json
from sigmax.trading.manual import ManualResult, same_order


class ProposalStore(Protocol):
    async def insert(self, proposal: Proposal, by: str) -> tuple[Proposal, bool]: ...
    async def get(self, account: str, proposal_id: str) -> Proposal | None: ...
    async def due(self, account: str, now: datetime) -> list[Proposal]: ...
    async def move(
        self,
        account: str,
        proposal_id: str,
        to: ProposalStatus,
        now: datetime,
        *,
        by: str | None = None,
        reason: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> Proposal | None: ...


# Risk check at the current price, then the venue: what an operator's order goes through.
Execute = Callable[[OrderRequest], Awaitable[ManualResult]]
# The order the venue holds under a client order id, if any (recovery of a stuck approval).
FindSent = Callable[[str], Awaitable[Order | None]]
# (event kind, proposal): e.g. ("proposal.executed", p).
Publish = Callable[[str, Proposal], None]


def _no_publish(kind: str, proposal: Proposal) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """The proposal after approve; ``executed_now`` is False when an earlier approval
    had already executed it (nothing was sent this time)."""

    proposal: Proposal
    executed_now: bool


class ProposalDesk:
    """Proposals of one account and session."""

    def __init__(
        self,
        store: ProposalStore,
        account: str,
        session_id: str,
        ttl_s: float,
        publish: Publish | None = None,
        clock: Callable[[], datetime] = utc_now,
        stuck_after_s: float = 60.0,
    ) -> None:
        self.store = store
        self.account = account
        self.session_id = session_id
        self.ttl_s = ttl_s
        self.publish = publish or _no_publish
        self.clock = clock
        self.stuck_after = timedelta(seconds=stuck_after_s)

    async def propose(
        self,
        decision: Decision,
        order: OrderRequest,
        verdict: RiskVerdict | None,
        reference_price: Decimal,
        ttl_s: float | None = None,
    ) -> Proposal:
        """Store a pending proposal for ``order`` (idempotent by its client order id)."""
        proposal = new_proposal(
            decision,
            order,
            verdict,
            reference_price,
            account=self.account,
            session_id=self.session_id,
            now=self.clock(),
            ttl_s=self.ttl_s if ttl_s is None else ttl_s,
        )
        stored, created = await self.store.insert(proposal, f"session:{self.session_id}")
        if created:
            self.publish("proposal.created", stored)
        return stored

    async def expire_due(self) -> list[Proposal]:
        """Expire every pending proposal past its expiry (the session's sweep)."""
        now = self.clock()
        expired = []
        for due in await self.store.due(self.account, now):
            moved = await self._expire(due, now)
            if moved is not None:
                expired.append(moved)
        return expired

    async def get(self, proposal_id: str) -> Proposal:
        """The proposal, expired first if it is due; ProposalNotFound when absent."""
        found = await self.store.get(self.account, proposal_id)
        if found is None:
            raise ProposalNotFound(
                f"proposal {proposal_id!r} not found for account {self.account!r}"
            )
        now = self.clock()
        if found.is_due(now):
            return await self._expire(found, now) or await self.get(proposal_id)
        return found

    async def approve(
        self,
        proposal_id: str,
        by: str,
        execute: Execute,
        note: str | None = None,
        find_sent: FindSent | None = None,
    ) -> ApprovalOutcome:
        """Claim the proposal for ``by``, re-check and send its order; once only. With
        ``find_sent``, a stuck approval is recovered (see the module's docstring)."""
        claimed = await self.store.move(
            self.account, proposal_id, ProposalStatus.APPROVED, self.clock(), by=by, reason=note
        )
        if claimed is None:
            current = await self.get(proposal_id)
            if current.status is ProposalStatus.EXECUTED:
                return ApprovalOutcome(current, executed_now=False)
            if find_sent is not None and self._stuck(current):
                return await self._recover(current, execute, find_sent)
            current.check_move(ProposalStatus.APPROVED, self.clock())
            raise IllegalProposalTransition(f"proposal {proposal_id} changed; try again", current)
        self.publish("proposal.approved", claimed)
        # An error here leaves the proposal approved: the order may or may not have
        # reached the venue, and only the venue (by client order id) can tell.
        result = await execute(claimed.order)
        return ApprovalOutcome(await self._finish(claimed, result), executed_now=True)

    async def reject(self, proposal_id: str, by: str, reason: str | None = None) -> Proposal:
        """Reject a pending proposal; rejecting a rejected one again returns it."""
        moved = await self.store.move(
            self.account,
            proposal_id,
            ProposalStatus.REJECTED,
            self.clock(),
            by=by,
            reason=reason or "rejected by operator",
        )
        if moved is None:
            current = await self.get(proposal_id)
            if current.status is ProposalStatus.REJECTED:
                return current
            current.check_move(ProposalStatus.REJECTED, self.clock())
            raise IllegalProposalTransition(f"proposal {proposal_id} changed; try again", current)
        self.publish("proposal.rejected", moved)
        return moved

    def _stuck(self, proposal: Proposal) -> bool:
        decided = proposal.decided_at
        return (
            proposal.status is ProposalStatus.APPROVED
            and decided is not None
            and self.clock() - decided >= self.stuck_after
        )

    async def _recover(
        self, stuck: Proposal, execute: Execute, find_sent: FindSent
    ) -> ApprovalOutcome:
        sent = await find_sent(stuck.id)
        if sent is not None and not same_order(sent.request, stuck.order):
            reason = (
                f"a different order holds id {stuck.id} at the venue "
                f"({sent.request.side.value} {sent.request.qty} {sent.request.symbol} "
                f"{sent.request.type.value}); the proposal's order was never sent"
            )
            return ApprovalOutcome(await self._fail(stuck, reason, None), executed_now=False)
        if sent is not None:  # it reached the venue: record it, send nothing
            check = RiskCheck("already_sent", True, f"order {stuck.id} found at the venue")
            result = ManualResult(stuck.order, RiskVerdict(True, (check,)), sent)
            return ApprovalOutcome(await self._finish(stuck, result), executed_now=False)
        if stuck.expires_at <= self.clock():
            reason = "the approved order never reached the venue before the proposal expired"
            return ApprovalOutcome(await self._fail(stuck, reason, None), executed_now=False)
        result = await execute(stuck.order)
        return ApprovalOutcome(await self._finish(stuck, result), executed_now=True)

    async def _fail(self, claimed: Proposal, reason: str, outcome: Any) -> Proposal:
        moved = await self.store.move(
            self.account,
            claimed.id,
            ProposalStatus.FAILED,
            self.clock(),
            by=claimed.decided_by,
            reason=reason,
            result=outcome,
        )
        return await self._published(claimed, ProposalStatus.FAILED, moved)

    async def _published(
        self, claimed: Proposal, to: ProposalStatus, moved: Proposal | None
    ) -> Proposal:
        if moved is None:  # a concurrent recovery finished it first
            current = await self.get(claimed.id)
            if current.status.is_terminal:
                return current
            raise IllegalProposalTransition(f"proposal {claimed.id} left approved elsewhere")
        self.publish(f"proposal.{to.value}", moved)
        return moved

    async def _finish(self, claimed: Proposal, result: ManualResult) -> Proposal:
        verdict = verdict_json(result.verdict)
        if result.approved and result.order is not None:
            to, reason = ProposalStatus.EXECUTED, None
            outcome = {"verdict": verdict, "order": jsonable(order_state_data(result.order))}
        else:
            to = ProposalStatus.FAILED
            reason = f"refused by risk at approval: {result.reason}"
            outcome = {"verdict": verdict, "order": None}
        moved = await self.store.move(
            self.account,
            claimed.id,
            to,
            self.clock(),
            by=claimed.decided_by,
            reason=reason,
            result=outcome,
        )
        return await self._published(claimed, to, moved)

    async def _expire(self, due: Proposal, now: datetime) -> Proposal | None:
        target = expire(due, now)
        moved = await self.store.move(
            self.account, due.id, ProposalStatus.EXPIRED, now, reason=target.reason
        )
        if moved is not None:
            self.publish("proposal.expired", moved)
        return moved
