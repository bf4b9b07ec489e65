"""The proposal desk of an approval-mode session as a Ray actor (thin shell).

It owns the session's :class:`~sigmax.trading.proposal_desk.ProposalDesk` over PostgreSQL
and publishes the proposal events. Approval re-checks and sends the order through the
session's own risk, execution and portfolio actors (found by name), the same way an
operator's manual order goes. Every state lives in PostgreSQL, so a restarted actor
simply goes on; the store's guarded updates make approvals exactly-once.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ray

from actors.options import PROPOSALS
from actors.persistence import actor_pool
from sigmax.events import EventsConfig, build_publisher
from sigmax.events.bus import EventPublisher
from sigmax.events.model import make_event, proposal_state_data
from sigmax.model import Decision, Order, OrderRequest, RiskVerdict
from sigmax.proposals import ApprovalConfig, Proposal
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.repos.proposals import ProposalRepository
from sigmax.trading.manual import ManualResult, ManualTrading, MarketView
from sigmax.trading.proposal_desk import ApprovalOutcome, ProposalDesk

__all__ = [
    "PROPOSALS",  # the role (from actors.options), for existing importers
    "ProposalActor",
    "ProposalActorPort",
]


@ray.remote
class ProposalActor:
    """Propose, expire, approve and reject the proposals of one session."""

    def __init__(
        self,
        approval_json: str,
        postgres_json: str,
        redis_json: str,
        events_json: str,
        account: str,
        session_id: str,
    ) -> None:
        self.config = ApprovalConfig.model_validate_json(approval_json)
        self.postgres = postgres_json
        self.redis = RedisConfig.model_validate_json(redis_json)
        self.events = EventsConfig.model_validate_json(events_json)
        self.account = account
        self.session_id = session_id
        self._desk: ProposalDesk | None = None
        self._publisher: EventPublisher | None = None

    async def _ready(self) -> ProposalDesk:
        if self._desk is None:
            repo = ProposalRepository(await actor_pool(self.postgres))
            self._publisher = build_publisher(self.events, self.redis)
            self._desk = ProposalDesk(
                repo, self.account, self.session_id, self.config.proposal_ttl_s, self._publish
            )
        return self._desk

    def _publish(self, kind: str, proposal: Proposal) -> None:
        if self._publisher is not None:
            data = proposal_state_data(kind, proposal.to_json())
            self._publisher.publish(make_event("proposals", self.session_id, data))

    async def propose(
        self,
        decision: Decision,
        order: OrderRequest,
        verdict: RiskVerdict,
        reference_price: Decimal,
        ttl_s: float | None = None,
    ) -> Proposal:
        return await (await self._ready()).propose(decision, order, verdict, reference_price, ttl_s)

    async def expire_due(self) -> list[Proposal]:
        return await (await self._ready()).expire_due()

    async def approve(self, proposal_id: str, by: str, note: str | None = None) -> ApprovalOutcome:
        desk = await self._ready()
        return await desk.approve(proposal_id, by, self._execute, note, self._find_sent)

    async def reject(self, proposal_id: str, by: str, reason: str | None = None) -> Proposal:
        return await (await self._ready()).reject(proposal_id, by, reason)

    async def close(self) -> None:
        """Send the events still queued (before the actor is killed)."""
        if self._publisher is not None:
            await asyncio.to_thread(self._publisher.close)
            self._publisher = None

    async def _execute(self, order: OrderRequest) -> ManualResult:
        return await asyncio.to_thread(_execute_in_session, self.session_id, order)

    async def _find_sent(self, client_order_id: str) -> Order | None:
        from actors.registry import find_session

        session = await asyncio.to_thread(find_session, self.session_id)
        found: Order | None = await session.execution.find_order.remote(client_order_id)
        return found


def _execute_in_session(session_id: str, order: OrderRequest) -> ManualResult:
    """Risk check at the session's last price, then the venue (blocking actor calls)."""
    from actors.ports import ExecutionPort, PortfolioPort, RiskPort
    from actors.registry import find_session

    session = find_session(session_id)
    histories = ray.get(session.market_data.histories.remote())
    history = histories.get(order.symbol)
    if history is None:
        raise ValueError(f"session {session_id!r} has no market data of {order.symbol} yet")
    trading = ManualTrading(
        RiskPort(session.risk), ExecutionPort(session.execution), PortfolioPort(session.portfolio)
    )
    return trading.submit(order, MarketView.from_history(history, histories))


class ProposalActorPort:
    """The trading session's proposal port over the actor (one ``ray.get`` per call)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def propose(
        self,
        decision: Decision,
        order: OrderRequest,
        verdict: RiskVerdict,
        reference_price: Decimal,
        ttl_s: float | None = None,
    ) -> Proposal:
        ref = self.handle.propose.remote(decision, order, verdict, reference_price, ttl_s)
        proposal: Proposal = ray.get(ref)
        return proposal

    def expire_due(self) -> list[Proposal]:
        expired: list[Proposal] = ray.get(self.handle.expire_due.remote())
        return expired
