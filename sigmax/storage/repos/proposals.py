"""Trade proposals in PostgreSQL, each change audited in the same transaction.

Every status change is one guarded ``UPDATE ... WHERE status = ANY(<states it may come
from>) [AND expires_at > now] RETURNING``: of two callers racing to approve, exactly one
gets the row back; the other gets None and reads the proposal's current state. The
audit records go to stream ``proposals:<account>`` of ``audit_log``; appends to that
chain are serialised by a transaction-scoped advisory lock on the stream.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sigmax.proposals.model import SOURCES, Proposal, ProposalStatus, order_request_from_json
from sigmax.risk.audit_record import GENESIS_HASH, AuditRecord, record_hash
from sigmax.serialize import canonical_json, order_request_json
from sigmax.storage.postgres import Connection
from sigmax.storage.repos._base import Repository
from sigmax.storage.repos.audit import AuditRepository

_INSERT = """
INSERT INTO proposals (account, id, session_id, symbol, status, order_request,
    reference_price, decision, proposed_verdict, created_at, expires_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (account, id) DO NOTHING
RETURNING *
"""

# $9: 'live' (must not be past expiry), 'due' (must be past it) or 'any'.
_MOVE = """
UPDATE proposals SET
    status = $3,
    updated_at = $4,
    decided_by = CASE WHEN $5::bool THEN $6 ELSE decided_by END,
    decided_at = CASE WHEN $5::bool THEN $4 ELSE decided_at END,
    reason = COALESCE($7, reason),
    result = COALESCE($8::jsonb, result)
WHERE account = $1 AND id = $2 AND status = ANY($10::text[])
  AND ($9 = 'any' OR ($9 = 'live' AND expires_at > $4) OR ($9 = 'due' AND expires_at <= $4))
RETURNING *
"""

_EXPIRY_GUARD = {
    ProposalStatus.APPROVED: "live",
    ProposalStatus.REJECTED: "live",
    ProposalStatus.EXPIRED: "due",
}


def audit_stream(account: str) -> str:
    return f"proposals:{account}"


class ProposalRepository(Repository):
    """Proposals of every account; ``(account, id)`` names one."""

    async def insert(self, proposal: Proposal, by: str) -> tuple[Proposal, bool]:
        """Store a new pending proposal (audited as proposal.created); the same id again
        returns the stored one and False."""
        p = proposal
        async with self.pool.transaction() as conn:
            row = await conn.fetchrow(
                _INSERT,
                p.account,
                p.id,
                p.session_id,
                p.symbol,
                p.status.value,
                order_request_json(p.order),
                p.reference_price,
                p.decision,
                p.proposed_verdict,
                p.created_at,
                p.expires_at,
                p.updated_at or p.created_at,
            )
            if row is None:
                existing = await self.get(p.account, p.id, conn=conn)
                assert existing is not None  # the conflict was on this key
                return existing, False
            stored = proposal_from_row(row)
            await self._audit(conn, stored, "proposal.created", by, stored.created_at)
        return stored, True

    async def get(
        self, account: str, proposal_id: str, conn: Connection | None = None
    ) -> Proposal | None:
        async with self._conn(conn) as c:
            row = await c.fetchrow(
                "SELECT * FROM proposals WHERE account = $1 AND id = $2", account, proposal_id
            )
        return None if row is None else proposal_from_row(row)

    async def recent(
        self, account: str, statuses: Sequence[ProposalStatus] | None = None, limit: int = 100
    ) -> list[Proposal]:
        """The newest ``limit`` proposals (optionally in the stored ``statuses``), oldest
        first."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM (SELECT * FROM proposals WHERE account = $1"
                " AND ($2::text[] IS NULL OR status = ANY($2::text[]))"
                " ORDER BY created_at DESC, id DESC LIMIT $3) p ORDER BY created_at, id",
                account,
                None if statuses is None else [s.value for s in statuses],
                limit,
            )
        return [proposal_from_row(r) for r in rows]

    async def due(self, account: str, now: datetime) -> list[Proposal]:
        """Pending proposals whose expiry has passed at ``now``."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM proposals WHERE account = $1 AND status = 'pending'"
                " AND expires_at <= $2 ORDER BY expires_at, id",
                account,
                now,
            )
        return [proposal_from_row(r) for r in rows]

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
    ) -> Proposal | None:
        """Move the proposal to ``to`` if, at this instant, it is in a state ``to`` may
        come from (and not expired for approve/reject, expired for expire); audited.
        None when it was not moved (someone else moved it first, or it is absent)."""
        decided = to in (ProposalStatus.APPROVED, ProposalStatus.REJECTED)
        sources = [s.value for s in SOURCES[to]]
        async with self.pool.transaction() as conn:
            row = await conn.fetchrow(
                _MOVE,
                account,
                proposal_id,
                to.value,
                now,
                decided,
                by,
                reason,
                result,
                _EXPIRY_GUARD.get(to, "any"),
                sources,
            )
            if row is None:
                return None
            moved = proposal_from_row(row)
            await self._audit(conn, moved, f"proposal.{to.value}", by or "system", now)
        return moved

    async def audit_records(self, account: str) -> list[AuditRecord]:
        return await AuditRepository(self.pool).records(audit_stream(account))

    async def _audit(self, conn: Connection, p: Proposal, kind: str, by: str, at: datetime) -> None:
        """Append one record to the account's proposal chain in ``conn``'s transaction."""
        record = await _next_record(conn, p, kind, by, at)
        await AuditRepository(self.pool).append(record, audit_stream(p.account), conn=conn)


async def _next_record(
    conn: Connection, p: Proposal, kind: str, by: str, at: datetime
) -> AuditRecord:
    """The record continuing the account's proposal chain; the advisory lock keeps
    concurrent writers from taking the same seq until this transaction ends."""
    stream = audit_stream(p.account)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", stream)
    head = await conn.fetchrow(
        "SELECT seq, hash FROM audit_log WHERE stream = $1 ORDER BY seq DESC LIMIT 1", stream
    )
    seq = 0 if head is None else head["seq"] + 1
    prev = GENESIS_HASH if head is None else head["hash"]
    payload = {
        "proposal_id": p.id,
        "status": p.status.value,
        "by": by,
        "reason": p.reason,
        "order": order_request_json(p.order),
        "reference_price": str(p.reference_price),
        "expires_at": p.expires_at.isoformat(),
        "result": p.result,
    }
    payload_json = canonical_json(payload, f"audit {kind} payload")
    stamp = at.isoformat()
    return AuditRecord(
        seq,
        stamp,
        kind,
        json.loads(payload_json),
        prev,
        record_hash(seq, stamp, kind, payload_json, prev),
    )


def proposal_from_row(row: Any) -> Proposal:
    return Proposal(
        id=row["id"],
        account=row["account"],
        session_id=row["session_id"],
        order=order_request_from_json(row["order_request"]),
        decision=row["decision"],
        proposed_verdict=row["proposed_verdict"],
        reference_price=row["reference_price"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        status=ProposalStatus(row["status"]),
        updated_at=row["updated_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reason=row["reason"],
        result=row["result"],
    )
