"""The reads the API makes: decisions with their ids, every API key in one query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sigmax.model import Decision, RiskCheck, RiskVerdict, Signal
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.repos.books import DecisionRepository
from sigmax.storage.repos.keys import ApiKeyRepository

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _decision(hours: int, symbol: str = "BTC-USD") -> Decision:
    return Decision(
        ts=T0 + timedelta(hours=hours), symbol=symbol, target_position=0.25,
        signals=(Signal("trend", 0.5, 0.8, "sma up", {"sma_fast": 101.5}),),
        bull_case="up", bear_case="thin", rationale="small long", missing=(),
        risk_verdict=RiskVerdict(True, (RiskCheck("max_position", True, "ok"),)),
    )  # fmt: skip


@pytest.mark.asyncio
async def test_pg_recent_decisions_carry_their_ids(pool: PostgresPool, account: str) -> None:
    repo = DecisionRepository(pool)
    made = [_decision(0), _decision(1, "ETH-USD"), _decision(2)]
    await repo.insert_many(made, account)
    recent = await repo.recent(account, limit=2)
    assert [s.decision for s in recent] == made[1:]  # the newest two, oldest first
    assert [s.decision for s in await repo.recent(account, "BTC-USD")] == [made[0], made[2]]
    one = await repo.get(account, recent[0].id)
    assert one == recent[0]
    assert await repo.get("another-account", recent[0].id) is None
    assert await repo.for_account(account) == made


@pytest.mark.asyncio
async def test_pg_all_api_keys_by_id(pool: PostgresPool) -> None:
    repo = ApiKeyRepository(pool)
    first, _ = await repo.create("first", ["read"])
    second, _ = await repo.create("second", ["admin"])
    await repo.revoke(first.id)
    listed = await repo.all()
    assert [k.id for k in listed] == sorted(k.id for k in listed)
    mine = {k.id: k for k in listed}
    assert mine[first.id].revoked_at is not None
    assert mine[second.id] == second
