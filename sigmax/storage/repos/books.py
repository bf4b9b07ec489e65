"""Positions, decisions and risk events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sigmax.model import Decision, Position, RiskCheck, RiskVerdict, Signal
from sigmax.serialize import signal_json, verdict_json
from sigmax.storage.postgres import Connection
from sigmax.storage.repos._base import Repository


class PositionRepository(Repository):
    """The current position per account and symbol (one row, overwritten)."""

    async def upsert(
        self, account: str, position: Position, ts: datetime, conn: Connection | None = None
    ) -> None:
        async with self._conn(conn) as c:
            await c.execute(
                "INSERT INTO positions (account, symbol, qty, avg_price, realized_pnl, updated_ts)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account, symbol) DO UPDATE SET"
                " qty = EXCLUDED.qty, avg_price = EXCLUDED.avg_price,"
                " realized_pnl = EXCLUDED.realized_pnl, updated_ts = EXCLUDED.updated_ts"
                " WHERE positions.updated_ts <= EXCLUDED.updated_ts",
                account,
                position.symbol,
                position.qty,
                position.avg_price,
                position.realized_pnl,
                ts,
            )

    async def get(self, account: str, symbol: str) -> Position | None:
        async with self._conn(None) as c:
            row = await c.fetchrow(
                "SELECT * FROM positions WHERE account = $1 AND symbol = $2", account, symbol
            )
        return None if row is None else _position(row)

    async def for_account(self, account: str) -> list[Position]:
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM positions WHERE account = $1 ORDER BY symbol", account
            )
        return [_position(r) for r in rows]


def _position(row: Any) -> Position:
    return Position(row["symbol"], row["qty"], row["avg_price"], row["realized_pnl"])


def decision_args(d: Decision, account: str, run_id: str | None) -> tuple[Any, ...]:
    return (
        account,
        run_id,
        d.ts,
        d.symbol,
        d.target_position,
        [signal_json(s) for s in d.signals],
        d.bull_case,
        d.bear_case,
        d.rationale,
        list(d.missing),
        None if d.risk_verdict is None else d.risk_verdict.approved,
        None if d.risk_verdict is None else verdict_json(d.risk_verdict),
    )


_INSERT_DECISION = """
INSERT INTO decisions (account, run_id, ts, symbol, target_position, signals, bull_case,
    bear_case, rationale, missing, approved, risk_verdict)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (account, symbol, ts) DO NOTHING
"""


def _decision(row: Any) -> Decision:
    verdict = row["risk_verdict"]
    return Decision(
        ts=row["ts"],
        symbol=row["symbol"],
        target_position=row["target_position"],
        signals=tuple(
            Signal(s["agent"], s["score"], s["confidence"], s["rationale"], s["evidence"])
            for s in row["signals"]
        ),
        bull_case=row["bull_case"],
        bear_case=row["bear_case"],
        rationale=row["rationale"],
        missing=tuple(row["missing"]),
        risk_verdict=None
        if verdict is None
        else RiskVerdict(
            verdict["approved"],
            tuple(RiskCheck(c["rule"], c["passed"], c["detail"]) for c in verdict["checks"]),
        ),
    )


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision as stored, with the id the API names it by."""

    id: int
    decision: Decision


class DecisionRepository(Repository):
    """Every decision with all agent signals (JSONB), debate, rationale and verdict.

    One decision per account, symbol and bar time: a replay stores nothing new.
    """

    async def insert(
        self,
        decision: Decision,
        account: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> bool:
        async with self._conn(conn) as c:
            status = await c.execute(_INSERT_DECISION, *decision_args(decision, account, run_id))
        return bool(status.endswith(" 1"))

    async def insert_many(
        self,
        decisions: Iterable[Decision],
        account: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        async with self._tx(conn) as c:
            await c.executemany(
                _INSERT_DECISION, [decision_args(d, account, run_id) for d in decisions]
            )

    async def for_account(
        self, account: str, symbol: str | None = None, limit: int = 1000
    ) -> list[Decision]:
        """Most recent decisions, oldest first."""
        return [stored.decision for stored in await self.recent(account, symbol, limit)]

    async def recent(
        self, account: str, symbol: str | None = None, limit: int = 1000
    ) -> list[StoredDecision]:
        """Most recent decisions with their ids, oldest first."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM (SELECT * FROM decisions WHERE account = $1"
                " AND ($2::text IS NULL OR symbol = $2) ORDER BY ts DESC LIMIT $3) d"
                " ORDER BY ts",
                account,
                symbol,
                limit,
            )
        return [StoredDecision(r["id"], _decision(r)) for r in rows]

    async def get(self, account: str, decision_id: int) -> StoredDecision | None:
        async with self._conn(None) as c:
            row = await c.fetchrow(
                "SELECT * FROM decisions WHERE account = $1 AND id = $2", account, decision_id
            )
        return None if row is None else StoredDecision(row["id"], _decision(row))


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """A risk occurrence worth keeping: breaker trip, kill switch, limit change, rejection."""

    ts: datetime
    kind: str
    message: str
    payload: Mapping[str, Any]
    account: str
    run_id: str | None = None


class RiskEventRepository(Repository):
    """Risk events per account, in time order."""

    async def record(self, event: RiskEvent, conn: Connection | None = None) -> None:
        if not event.kind:
            raise ValueError("risk event: kind must not be empty")
        async with self._conn(conn) as c:
            await c.execute(
                "INSERT INTO risk_events (account, run_id, ts, kind, message, payload)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                event.account,
                event.run_id,
                event.ts,
                event.kind,
                event.message,
                dict(event.payload),
            )

    async def recent(self, account: str, limit: int = 100) -> list[RiskEvent]:
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM risk_events WHERE account = $1 ORDER BY ts DESC, id DESC LIMIT $2",
                account,
                limit,
            )
        return [
            RiskEvent(r["ts"], r["kind"], r["message"], r["payload"], r["account"], r["run_id"])
            for r in rows
        ]
