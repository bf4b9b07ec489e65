"""The approval flow in-process: the desk over the real PostgreSQL repository, with the
real risk engine, paper exchange and ledger behind ``ManualTrading`` (no Ray), on a
clock the test moves (expiry needs no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from sigmax.execution import PaperExchange
from sigmax.execution.errors import UnknownOrderError
from sigmax.ledger import Ledger
from sigmax.model import Decision, Order, OrderRequest, OrderType, RiskCheck, RiskVerdict, Side
from sigmax.proposals import (
    IllegalProposalTransition,
    Proposal,
    ProposalExpired,
    ProposalNotFound,
    ProposalStatus,
)
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.repos.proposals import ProposalRepository
from sigmax.trading.manual import ManualResult, ManualTrading, MarketView
from sigmax.trading.proposal_desk import ProposalDesk
from tests.storage.pg.pg_fixtures import drop_schema, make_config, new_schema

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
PRICE = Decimal("50000")
S = ProposalStatus


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    name = new_schema()
    try:
        yield name
    finally:
        drop_schema(name)


@pytest_asyncio.fixture
async def pool(schema: str) -> AsyncIterator[PostgresPool]:
    async with PostgresPool(make_config(schema), registry=CollectorRegistry()) as p:
        await migrate(p)
        yield p


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Rig:
    """A desk with a real risk engine, paper venue and ledger; events collected."""

    def __init__(self, pool: PostgresPool, account: str) -> None:
        self.clock = Clock()
        self.events: list[tuple[str, str]] = []
        self.risk = RiskEngine(RiskConfig())
        self.venue = PaperExchange()
        self.trading = ManualTrading(self.risk, self.venue, Ledger(Decimal(100_000)))
        self.desk = ProposalDesk(
            ProposalRepository(pool), account, "s", 60.0, self._publish, self.clock
        )

    def _publish(self, kind: str, proposal: Proposal) -> None:
        self.events.append((kind, proposal.id))

    async def execute(self, order: OrderRequest) -> ManualResult:
        market = MarketView("BTC/USD", self.clock.now, PRICE)
        return self.trading.submit(order, market)

    async def find_sent(self, client_order_id: str) -> Order | None:
        return self.venue.find_order(client_order_id)

    async def crash_before_venue(self, order: OrderRequest) -> ManualResult:
        """The approving process dies between the claim and the venue."""
        raise ConnectionError("approver lost before the venue")

    async def crash_after_venue(self, order: OrderRequest) -> ManualResult:
        """The approving process dies after the venue took the order."""
        await self.execute(order)
        raise ConnectionError("approver lost after the venue")

    async def propose(self, pid: str, qty: str = "0.1", ttl_s: float | None = None) -> Proposal:
        decision = Decision(T0, "BTC/USD", 0.1, (), "bull", "bear", "buy a little")
        order = OrderRequest(pid, "BTC/USD", Side.BUY, Decimal(qty))
        verdict = RiskVerdict(True, (RiskCheck("price_band", True, "ok"),))
        return await self.desk.propose(decision, order, verdict, PRICE, ttl_s)


@pytest.fixture
def rig(pool: PostgresPool) -> Rig:
    return Rig(pool, f"test:{datetime.now(UTC).timestamp()}:{id(pool)}")


async def test_approve_rechecks_and_executes_once(rig: Rig) -> None:
    await rig.propose("p-1")
    await rig.propose("p-1")  # a replayed bar proposes nothing new
    rig.clock.now += timedelta(seconds=5)
    outcome = await rig.desk.approve("p-1", "api-key:1 (alice)", rig.execute)
    assert outcome.executed_now
    done = outcome.proposal
    assert done.status is S.EXECUTED and done.decided_by == "api-key:1 (alice)"
    assert done.result is not None and done.result["verdict"]["approved"] is True
    assert done.result["order"]["client_order_id"] == "p-1"
    assert rig.venue.order("p-1").request == done.order
    again = await rig.desk.approve("p-1", "api-key:1 (alice)", rig.execute)
    assert not again.executed_now and again.proposal == done
    assert len(rig.risk.audit.records("risk_check")) == 1  # checked once, at approval
    assert rig.events == [
        ("proposal.created", "p-1"),
        ("proposal.approved", "p-1"),
        ("proposal.executed", "p-1"),
    ]


async def test_concurrent_approvals_send_one_order(rig: Rig) -> None:
    await rig.propose("p-race")
    results = await asyncio.gather(
        *(rig.desk.approve("p-race", f"api-key:{i}", rig.execute) for i in range(6)),
        return_exceptions=True,
    )
    executed = [r for r in results if not isinstance(r, BaseException) and r.executed_now]
    assert len(executed) == 1
    for r in results:
        if isinstance(r, BaseException):
            assert isinstance(r, IllegalProposalTransition)
            assert "is approved" in str(r) or "is executed" in str(r)
    assert [o.client_order_id for o in rig.venue.open_orders()] == ["p-race"]
    assert [k for k, _ in rig.events].count("proposal.executed") == 1


async def test_refused_at_approval_time_fails_with_the_verdict(rig: Rig) -> None:
    await rig.propose("p-paused")
    rig.risk.pause("operator pause", operator="test")
    outcome = await rig.desk.approve("p-paused", "api-key:2 (bob)", rig.execute)
    failed = outcome.proposal
    assert failed.status is S.FAILED
    assert failed.reason is not None and failed.reason.startswith("refused by risk at approval")
    assert failed.result is not None and failed.result["verdict"]["approved"] is False
    with pytest.raises(UnknownOrderError):
        rig.venue.order("p-paused")
    with pytest.raises(IllegalProposalTransition, match="is failed"):
        await rig.desk.approve("p-paused", "api-key:2 (bob)", rig.execute)


async def test_expired_proposals_cannot_be_approved_and_are_swept(rig: Rig) -> None:
    await rig.propose("p-late")
    await rig.propose("p-swept")
    rig.clock.now += timedelta(seconds=60)
    with pytest.raises(ProposalExpired, match="expired at"):
        await rig.desk.approve("p-late", "api-key:1 (alice)", rig.execute)
    with pytest.raises(UnknownOrderError):
        rig.venue.order("p-late")
    assert (await rig.desk.get("p-late")).status is S.EXPIRED
    swept = await rig.desk.expire_due()
    assert [p.id for p in swept] == ["p-swept"]
    assert await rig.desk.expire_due() == []
    with pytest.raises(ProposalExpired):
        await rig.desk.reject("p-swept", "api-key:1 (alice)")
    assert ("proposal.expired", "p-late") in rig.events
    assert ("proposal.expired", "p-swept") in rig.events


async def test_reject_is_final_and_unknown_ids_are_named(rig: Rig) -> None:
    await rig.propose("p-no")
    rejected = await rig.desk.reject("p-no", "api-key:3 (carol)", "not today")
    assert rejected.status is S.REJECTED and rejected.reason == "not today"
    assert await rig.desk.reject("p-no", "api-key:3 (carol)") == rejected
    with pytest.raises(IllegalProposalTransition, match="is rejected by api-key:3"):
        await rig.desk.approve("p-no", "api-key:1 (alice)", rig.execute)
    with pytest.raises(ProposalNotFound, match="'p-nothing' not found"):
        await rig.desk.approve("p-nothing", "api-key:1 (alice)", rig.execute)


async def test_a_stuck_approval_is_recovered_and_sends_once(rig: Rig) -> None:
    await rig.propose("p-lost", ttl_s=600)
    with pytest.raises(ConnectionError):
        await rig.desk.approve("p-lost", "api-key:1 (alice)", rig.crash_before_venue)
    assert (await rig.desk.get("p-lost")).status is S.APPROVED
    rig.clock.now += timedelta(seconds=10)  # maybe still executing: not touched
    with pytest.raises(IllegalProposalTransition, match="is approved"):
        await rig.desk.approve("p-lost", "api-key:2 (bob)", rig.execute, None, rig.find_sent)
    rig.clock.now += timedelta(seconds=50)  # stuck: recovered, checked and sent now
    outcome = await rig.desk.approve("p-lost", "api-key:2 (bob)", rig.execute, None, rig.find_sent)
    assert outcome.executed_now and outcome.proposal.status is S.EXECUTED
    assert outcome.proposal.decided_by == "api-key:1 (alice)"
    assert [o.client_order_id for o in rig.venue.open_orders()] == ["p-lost"]


async def test_a_stuck_approval_whose_order_reached_the_venue_is_not_sent_again(
    rig: Rig,
) -> None:
    await rig.propose("p-sent", ttl_s=600)
    with pytest.raises(ConnectionError):
        await rig.desk.approve("p-sent", "api-key:1 (alice)", rig.crash_after_venue)
    rig.clock.now += timedelta(seconds=61)
    rig.risk.pause("prices moved", operator="test")  # a re-check would refuse it now
    outcome = await rig.desk.approve("p-sent", "api-key:2 (bob)", rig.execute, None, rig.find_sent)
    assert not outcome.executed_now and outcome.proposal.status is S.EXECUTED
    assert outcome.proposal.result is not None
    assert outcome.proposal.result["order"]["client_order_id"] == "p-sent"
    assert len(rig.risk.audit.records("risk_check")) == 1  # checked once, at the approval
    assert len(rig.venue.events) == 2  # submitted and accepted, once


async def test_a_stuck_approval_past_its_expiry_fails_without_sending(rig: Rig) -> None:
    await rig.propose("p-stale")
    with pytest.raises(ConnectionError):
        await rig.desk.approve("p-stale", "api-key:1 (alice)", rig.crash_before_venue)
    rig.clock.now += timedelta(seconds=120)  # past the 60 s expiry
    outcome = await rig.desk.approve("p-stale", "api-key:2 (bob)", rig.execute, None, rig.find_sent)
    assert outcome.proposal.status is S.FAILED and not outcome.executed_now
    assert "never reached the venue" in str(outcome.proposal.reason)
    assert rig.venue.find_order("p-stale") is None
    assert ("proposal.failed", "p-stale") in rig.events


# Issue 18, item 3: another order holding the proposal's id at the venue is not taken
# for the proposal's own order; the proposal fails and nothing is marked executed.
async def test_a_stuck_approval_is_not_recovered_by_another_order_under_its_id(rig: Rig) -> None:
    await rig.propose("p-squat", qty="0.257", ttl_s=600)
    squat = OrderRequest(
        "p-squat", "BTC/USD", Side.BUY, Decimal("0.001"), OrderType.LIMIT, Decimal(1)
    )
    rig.venue.submit(squat, T0)  # someone else's order under the proposal's id
    with pytest.raises(Exception, match="already used for a different order"):
        await rig.desk.approve("p-squat", "api-key:1 (alice)", rig.execute)
    rig.clock.now += timedelta(seconds=61)  # stuck: a later approve recovers it
    outcome = await rig.desk.approve("p-squat", "api-key:2 (bob)", rig.execute, None, rig.find_sent)

    assert outcome.proposal.status is S.FAILED and not outcome.executed_now
    assert "a different order" in str(outcome.proposal.reason)
    assert rig.venue.order("p-squat").request == squat  # the market order was never sent
    assert ("proposal.executed", "p-squat") not in rig.events
