"""Repositories against the real server: idempotence, atomicity, exactness, audit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from sigmax.execution.errors import OrderConflictError
from sigmax.execution.orders import OrderManager
from sigmax.model import (
    Decision,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    RiskCheck,
    RiskVerdict,
    Side,
    Signal,
)
from sigmax.risk.audit import AuditTrail
from sigmax.risk.audit_record import AuditRecord, record_hash
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repositories import (
    ApiKeyError,
    ApiKeyRepository,
    AuditRepository,
    BacktestRunRepository,
    DecisionRepository,
    FillRepository,
    OrderRepository,
    PositionRepository,
    PostgresAuditSink,
    RiskEvent,
    RiskEventRepository,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _order(
    cid: str = "o-1", qty: str = "0.00000001", status: OrderStatus = OrderStatus.NEW
) -> Order:
    request = OrderRequest(
        cid,
        "BTC-USD",
        Side.BUY,
        Decimal(qty),
        OrderType.LIMIT,
        limit_price=Decimal("65432.123456789"),
    )
    return Order(request=request, status=status, created_ts=T0, updated_ts=T0)


def _fill(fid: str, cid: str = "o-1", qty: str = "0.5", fee: str = "0.01") -> Fill:
    return Fill(
        fid,
        cid,
        "BTC-USD",
        Side.BUY,
        Decimal(qty),
        Decimal("100.05"),
        Decimal(fee),
        T0 + timedelta(minutes=1),
        Liquidity.TAKER,
        Decimal("100"),
    )


async def _count(pool: PostgresPool, sql: str, *args: object) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


@pytest.mark.asyncio
async def test_pg_insert_new_is_idempotent_at_the_database(
    pool: PostgresPool, account: str
) -> None:
    repo = OrderRepository(pool)
    results = await asyncio.gather(*(repo.insert_new(_order(), account) for _ in range(5)))
    assert sorted(created for _o, created in results) == [False] * 4 + [True]
    assert await _count(pool, "SELECT count(*) FROM orders WHERE account = $1", account) == 1
    assert await _count(pool, "SELECT count(*) FROM order_events WHERE account = $1", account) == 1
    stored, created = await repo.insert_new(_order(), account)
    assert not created
    assert stored.request.qty == Decimal("0.00000001")
    assert stored.request.limit_price == Decimal("65432.123456789")
    # the unique key itself refuses a second row, whatever the client does
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO orders (account, client_order_id, symbol, side, type, qty, tif,"
                " status, created_ts, updated_ts) VALUES ($1, 'o-1', 'BTC-USD', 'buy',"
                " 'market', 1, 'gtc', 'new', now(), now())",
                account,
            )


@pytest.mark.asyncio
async def test_pg_same_id_for_another_order_conflicts(pool: PostgresPool, account: str) -> None:
    repo = OrderRepository(pool)
    await repo.insert_new(_order(qty="1"), account)
    with pytest.raises(OrderConflictError, match="different order"):
        await repo.insert_new(_order(qty="2"), account)
    with pytest.raises(OrderConflictError):
        await repo.save(_order(qty="2", status=OrderStatus.ACCEPTED), (), account)


@pytest.mark.asyncio
async def test_pg_save_order_state_and_events_replay_safely(
    pool: PostgresPool, account: str
) -> None:
    om = OrderManager()
    request = OrderRequest("o-1", "BTC-USD", Side.BUY, Decimal("1"))
    om.submit(request, T0)
    om.accept("o-1", T0, venue_order_id="v-9")
    om.apply_fill(_fill("f-1", qty="0.4"))
    order = om.apply_fill(_fill("f-2", qty="0.6"))
    repo = OrderRepository(pool)
    await repo.save(order, om.events, account)
    await repo.save(order, om.events, account)  # retry after a lost ack
    stored = await repo.get(account, "o-1")
    assert stored is not None
    assert stored.status is OrderStatus.FILLED
    assert stored.filled_qty == Decimal("1.0")
    assert stored.venue_order_id == "v-9"
    assert stored.avg_fill_price == order.avg_fill_price
    assert [e.to_status for e in await repo.events(account, "o-1")] == [
        e.to_status for e in om.events
    ]
    assert await repo.open_orders(account) == []


@pytest.mark.asyncio
async def test_pg_open_orders(pool: PostgresPool, account: str) -> None:
    repo = OrderRepository(pool)
    await repo.insert_new(_order("a"), account)
    await repo.insert_new(_order("b"), account)
    done = _order("c", status=OrderStatus.CANCELLED)
    await repo.save(done, (), account)
    assert [o.client_order_id for o in await repo.open_orders(account)] == ["a", "b"]


@pytest.mark.asyncio
async def test_pg_failure_half_way_leaves_nothing(pool: PostgresPool, account: str) -> None:
    orders, fills = OrderRepository(pool), FillRepository(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        async with pool.transaction() as conn:
            await orders.insert_new(_order(qty="1"), account, conn=conn)
            await fills.insert(_fill("f-1"), account, conn=conn)
            await fills.insert(_fill("f-2", qty="-1"), account, conn=conn)  # qty > 0 check
    assert await orders.get(account, "o-1") is None
    assert await fills.for_account(account) == []
    assert await _count(pool, "SELECT count(*) FROM order_events WHERE account = $1", account) == 0


@pytest.mark.asyncio
async def test_pg_fills_idempotent_both_bulk_paths(pool: PostgresPool, account: str) -> None:
    await OrderRepository(pool).insert_new(_order(qty="100"), account)
    repo = FillRepository(pool)
    batch = [_fill(f"f-{i}", fee="0.000001") for i in range(50)]
    assert await repo.insert_many_copy(batch, account) == 50
    assert await repo.insert_many_copy(batch + [_fill("f-50")], account) == 1
    await repo.insert_many_executemany(batch + [_fill("f-51")], account)
    assert await repo.insert(_fill("f-0"), account) is False
    stored = await repo.for_account(account)
    assert len(stored) == 52
    assert sum((f.fee for f in stored), Decimal(0)) == Decimal("0.000050") + Decimal("0.02")
    assert stored[0] == batch[0]


@pytest.mark.asyncio
async def test_pg_fill_for_unknown_order_is_refused(pool: PostgresPool, account: str) -> None:
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await FillRepository(pool).insert(_fill("f-1", cid="nope"), account)


@pytest.mark.asyncio
async def test_pg_positions_decisions_risk_events(pool: PostgresPool, account: str) -> None:
    positions = PositionRepository(pool)
    await positions.upsert(account, Position("BTC-USD", Decimal("-0.5"), Decimal("100.1")), T0)
    await positions.upsert(
        account,
        Position("BTC-USD", Decimal("1.25"), Decimal("101.2"), Decimal("3.3")),
        T0 + timedelta(hours=1),
    )
    await positions.upsert(account, Position("BTC-USD", Decimal("9"), Decimal("1")), T0)  # stale
    assert await positions.get(account, "BTC-USD") == Position(
        "BTC-USD", Decimal("1.25"), Decimal("101.2"), Decimal("3.3")
    )

    decision = Decision(
        ts=T0,
        symbol="BTC-USD",
        target_position=0.25,
        signals=(
            Signal("trend", 0.5, 0.8, "sma up", {"sma_fast": 101.5}),
            Signal("sentiment", -0.1, 0.3, "meh"),
        ),
        bull_case="trend up",
        bear_case="thin volume",
        rationale="small long",
        missing=("onchain",),
        risk_verdict=RiskVerdict(True, (RiskCheck("max_position", True, "ok"),)),
    )
    decisions = DecisionRepository(pool)
    assert await decisions.insert(decision, account) is True
    assert await decisions.insert(decision, account) is False
    assert await decisions.for_account(account) == [decision]

    events = RiskEventRepository(pool)
    event = RiskEvent(T0, "breaker", "drawdown 12% > 10%", {"drawdown": "0.12"}, account)
    await events.record(event)
    assert await events.recent(account) == [event]


@pytest.mark.asyncio
async def test_pg_api_keys(pool: PostgresPool) -> None:
    repo = ApiKeyRepository(pool)
    key, plaintext = await repo.create("ops", ["read", "trade"])
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT key_hash FROM api_keys WHERE id = $1", key.id)
    assert plaintext not in stored and len(stored) == 64
    assert (await repo.verify(plaintext, "trade")) is not None
    assert (await repo.get(key.id)).last_used_at is not None  # type: ignore[union-attr]
    assert await repo.verify(plaintext, "admin") is None
    assert await repo.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert await repo.verify("garbage") is None
    new, new_plain = await repo.rotate(key.id)
    assert new.rotated_from == key.id and new.scopes == ("read", "trade")
    assert await repo.verify(plaintext) is None
    assert await repo.verify(new_plain) is not None
    with pytest.raises(ApiKeyError, match="cannot be rotated"):
        await repo.rotate(key.id)
    await repo.revoke(new.id)
    assert await repo.verify(new_plain) is None
    expired, expired_plain = await repo.create("old", expires_at=T0)
    assert await repo.verify(expired_plain) is None


@pytest.mark.asyncio
async def test_pg_backtest_runs(pool: PostgresPool) -> None:
    repo = BacktestRunRepository(pool)
    run = await repo.start("run-a", {"strategy": "sma_cross", "cash": Decimal("10000")})
    assert run.status == "running" and run.request["cash"] == "10000"
    done = await repo.finish("run-a", metrics={"sharpe": float("nan"), "trades": 3})
    assert done.status == "succeeded" and done.metrics == {"sharpe": None, "trades": 3}
    with pytest.raises(ValueError, match="succeeded or failed"):
        await repo.finish("run-a", status="running")


def _record(seq: int, prev: str, kind: str = "risk_check") -> AuditRecord:
    from sigmax.serialize import canonical_json

    payload = {"n": seq, "qty": "1.5"}
    ts = (T0 + timedelta(seconds=seq)).isoformat()
    digest = record_hash(seq, ts, kind, canonical_json(payload), prev)
    return AuditRecord(seq, ts, kind, payload, prev, digest)


@pytest.mark.asyncio
async def test_pg_audit_log_is_append_only(pool: PostgresPool, account: str) -> None:
    repo = AuditRepository(pool)
    first = _record(0, "0" * 64)
    second = _record(1, first.hash)
    await repo.append_many([first, second], stream=account)
    async with pool.acquire() as conn:
        for sql in (
            "UPDATE audit_log SET kind = 'x' WHERE stream = $1",
            "DELETE FROM audit_log WHERE stream = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(sql, account)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("TRUNCATE audit_log")
    # a record that does not continue the chain is refused by the database
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="prev_hash"):
        await repo.append(_record(2, "f" * 64), stream=account)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="does not follow"):
        await repo.append(_record(5, second.hash), stream=account)
    assert await repo.records(account) == [first, second]
    assert await repo.verify(account) == 2


def test_pg_audit_sink_with_audit_trail(pg_config: PostgresConfig, account: str) -> None:
    sink = PostgresAuditSink(pg_config, stream=account)
    try:
        trail = AuditTrail(sink)
        trail.append("state_change", {"to": "halted", "equity": Decimal("9876.54")}, T0)
        trail.append("decision", {"target": 0.5}, T0 + timedelta(seconds=1))
        assert trail.verify() == 2
    finally:
        sink.close()
    reopened = PostgresAuditSink(pg_config, stream=account)
    try:
        trail = AuditTrail(reopened)  # continues the stored chain
        assert len(trail) == 2
        trail.append("decision", {"target": 0.0}, T0 + timedelta(seconds=2))
        assert trail.verify() == 3
        assert [r.kind for r in trail.records()] == ["state_change", "decision", "decision"]
        forged = _record(3, "0" * 64)
        with pytest.raises(asyncpg.IntegrityConstraintViolationError):
            reopened.write(forged)
    finally:
        reopened.close()
