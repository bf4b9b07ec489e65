"""The proposal repository against the real server: idempotent insert, the atomic claim
under concurrent approvals, guarded expiry, and the audit chain of every step."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigmax.model import Decision, OrderRequest, Side
from sigmax.proposals import Proposal, ProposalStatus, new_proposal
from sigmax.risk.audit import verify_chain
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.repos.proposals import ProposalRepository

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
S = ProposalStatus
pytestmark = pytest.mark.asyncio


def _proposal(account: str, pid: str = "s-1", ttl_s: float = 60.0) -> Proposal:
    decision = Decision(T0, "BTC/USD", 0.5, (), "bull", "bear", "go long")
    order = OrderRequest(pid, "BTC/USD", Side.BUY, Decimal("0.00000001"))
    return new_proposal(
        decision,
        order,
        None,
        Decimal("65432.123456789"),
        account=account,
        session_id="s",
        now=T0,
        ttl_s=ttl_s,
    )


async def test_insert_is_idempotent_and_exact(pool: PostgresPool, account: str) -> None:
    repo = ProposalRepository(pool)
    stored, created = await repo.insert(_proposal(account), "session:s")
    again, created_again = await repo.insert(_proposal(account), "session:s")
    assert created and not created_again
    assert again == stored
    assert stored.order.qty == Decimal("0.00000001")
    assert stored.reference_price == Decimal("65432.123456789")
    assert stored.decision["rationale"] == "go long"
    assert await repo.get(account, "s-1") == stored
    assert await repo.get(account, "other") is None
    assert [p.id for p in await repo.recent(account)] == ["s-1"]
    assert await repo.recent(account, [S.EXECUTED]) == []


async def test_concurrent_approvals_claim_exactly_once(pool: PostgresPool, account: str) -> None:
    repo = ProposalRepository(pool)
    await repo.insert(_proposal(account), "session:s")
    now = T0 + timedelta(seconds=1)
    claims = await asyncio.gather(
        *(repo.move(account, "s-1", S.APPROVED, now, by=f"api-key:{i}") for i in range(8))
    )
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    assert winners[0].status is S.APPROVED and winners[0].decided_at == now
    stored = await repo.get(account, "s-1")
    assert stored is not None and stored.decided_by == winners[0].decided_by
    # Only the approved proposal may move on, and only once.
    result = {"order": {"status": "filled"}, "verdict": {"approved": True}}
    done = await asyncio.gather(
        *(repo.move(account, "s-1", S.EXECUTED, now, result=result) for _ in range(3))
    )
    assert sum(d is not None for d in done) == 1
    assert await repo.move(account, "s-1", S.REJECTED, now, by="late") is None
    final = await repo.get(account, "s-1")
    assert final is not None and final.status is S.EXECUTED and final.result == result


async def test_expiry_guards_approval_and_sweep(pool: PostgresPool, account: str) -> None:
    repo = ProposalRepository(pool)
    await repo.insert(_proposal(account, "s-1", ttl_s=10), "session:s")
    await repo.insert(_proposal(account, "s-2", ttl_s=100), "session:s")
    late = T0 + timedelta(seconds=10)
    assert await repo.move(account, "s-1", S.APPROVED, late, by="ops") is None
    assert await repo.move(account, "s-2", S.EXPIRED, late) is None  # not due yet
    assert [p.id for p in await repo.due(account, late)] == ["s-1"]
    expired = await repo.move(account, "s-1", S.EXPIRED, late, reason="too late")
    assert expired is not None and expired.status is S.EXPIRED and expired.reason == "too late"
    assert await repo.due(account, late) == []
    assert [p.id for p in await repo.recent(account, [S.PENDING])] == ["s-2"]


async def test_every_step_is_audited_in_one_verified_chain(
    pool: PostgresPool, account: str
) -> None:
    repo = ProposalRepository(pool)
    for i in range(4):
        await repo.insert(_proposal(account, f"s-{i}"), "session:s")
    now = T0 + timedelta(seconds=1)
    await asyncio.gather(
        repo.move(account, "s-0", S.APPROVED, now, by="api-key:1 (alice)"),
        repo.move(account, "s-0", S.APPROVED, now, by="api-key:2 (bob)"),
        repo.move(account, "s-1", S.REJECTED, now, by="api-key:2 (bob)", reason="no"),
        repo.move(account, "s-2", S.APPROVED, now, by="api-key:1 (alice)"),
    )
    await repo.move(account, "s-2", S.FAILED, now, by="api-key:1 (alice)", reason="risk")
    records = await repo.audit_records(account)
    assert verify_chain(records) == len(records) == 4 + 4
    kinds = [r.kind for r in records]
    assert kinds.count("proposal.created") == 4
    assert kinds.count("proposal.approved") == 2  # s-0 once, s-2
    rejected = next(r for r in records if r.kind == "proposal.rejected")
    assert rejected.payload["by"] == "api-key:2 (bob)"
    assert rejected.payload["reason"] == "no" and rejected.payload["proposal_id"] == "s-1"
    assert records[-1].kind == "proposal.failed"
