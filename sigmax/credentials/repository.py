"""Managed exchange credentials in PostgreSQL (ciphertexts only), each change audited.

Every create, update, delete and test appends a record to the ``credentials`` stream of
the hash-chained audit log in the same transaction as the change, so the change and its
audit record are committed together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

import asyncpg

from sigmax.credentials.model import (
    CredentialConflictError,
    CredentialNotFoundError,
    Permissions,
    StoredCredential,
)
from sigmax.model import utc_now
from sigmax.risk.audit_record import GENESIS_HASH, AuditRecord, record_hash
from sigmax.serialize import canonical_json
from sigmax.storage.postgres import Connection
from sigmax.storage.repos._base import Repository
from sigmax.storage.repos.audit import AuditRepository

AUDIT_STREAM = "credentials"
# columns an update may set (the names are fixed here, never taken from input)
_UPDATABLE = (
    "name",
    "sandbox",
    "api_key_ciphertext",
    "secret_ciphertext",
    "password_ciphertext",
    "hint",
    "cipher",
    "key_ref",
    "status",
    "permissions",
    "allow_withdraw",
    "last_error",
    "tested_at",
)
_INSERT = """
INSERT INTO exchange_credentials (name, exchange, sandbox, api_key_ciphertext,
    secret_ciphertext, password_ciphertext, hint, cipher, key_ref)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *
"""


def _credential(row: Any) -> StoredCredential:
    return StoredCredential(
        id=row["id"],
        name=row["name"],
        exchange=row["exchange"],
        sandbox=row["sandbox"],
        api_key_ciphertext=row["api_key_ciphertext"],
        secret_ciphertext=row["secret_ciphertext"],
        password_ciphertext=row["password_ciphertext"],
        hint=row["hint"],
        cipher=row["cipher"],
        key_ref=row["key_ref"],
        status=row["status"],
        permissions=Permissions.from_json(row["permissions"]),
        allow_withdraw=row["allow_withdraw"],
        last_error=row["last_error"],
        tested_at=row["tested_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ExchangeCredentialRepository(Repository):
    """Create, read, change and delete stored credentials; audits every change."""

    async def create(self, values: Mapping[str, Any], audit: Mapping[str, Any]) -> StoredCredential:
        """Insert a row from ``values`` (the _INSERT columns); ``audit`` is the record's payload."""
        async with self._tx(None) as c:
            try:
                row = await c.fetchrow(
                    _INSERT,
                    values["name"],
                    values["exchange"],
                    values["sandbox"],
                    values["api_key_ciphertext"],
                    values["secret_ciphertext"],
                    values["password_ciphertext"],
                    values["hint"],
                    values["cipher"],
                    values["key_ref"],
                )
            except asyncpg.UniqueViolationError:
                raise _name_taken(values["name"]) from None
            created = _credential(row)
            await self._audit(c, "credential_created", {"id": created.id, **audit})
        return created

    async def get(self, credential_id: int) -> StoredCredential:
        async with self._conn(None) as c:
            row = await c.fetchrow(
                "SELECT * FROM exchange_credentials WHERE id = $1", credential_id
            )
        if row is None:
            raise CredentialNotFoundError(f"credential {credential_id}: no such credential")
        return _credential(row)

    async def get_by_name(self, name: str) -> StoredCredential:
        async with self._conn(None) as c:
            row = await c.fetchrow("SELECT * FROM exchange_credentials WHERE name = $1", name)
        if row is None:
            raise CredentialNotFoundError(f"credential {name!r}: no such credential")
        return _credential(row)

    async def all(self) -> list[StoredCredential]:
        async with self._conn(None) as c:
            rows = await c.fetch("SELECT * FROM exchange_credentials ORDER BY id")
        return [_credential(r) for r in rows]

    async def update(
        self,
        credential_id: int,
        changes: Mapping[str, Any],
        kind: str,
        audit: Mapping[str, Any],
        unchanged_since: datetime | None = None,
    ) -> StoredCredential:
        """Set ``changes`` (columns of _UPDATABLE) and append a ``kind`` audit record.

        With ``unchanged_since`` (the ``updated_at`` the caller read), a row changed in
        the meantime is left alone and :class:`CredentialConflictError` raised.
        """
        unknown = sorted(set(changes) - set(_UPDATABLE))
        if unknown or not changes:
            raise ValueError(f"credential update: nothing to set, or unknown columns {unknown}")
        columns = list(changes)
        values = [changes[k] for k in columns]
        sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(columns, start=2))
        # the column names come from _UPDATABLE, the values are bound parameters
        query = f"UPDATE exchange_credentials SET {sets}, updated_at = now() WHERE id = $1"  # nosec B608
        if unchanged_since is not None:
            values.append(unchanged_since)
            query += f" AND updated_at = ${len(values) + 1}"
        query += " RETURNING *"
        async with self._tx(None) as c:
            try:
                row = await c.fetchrow(query, credential_id, *values)
            except asyncpg.UniqueViolationError:
                raise _name_taken(str(changes.get("name"))) from None
            if row is None:
                await self._raise_missing_or_changed(c, credential_id)
            updated = _credential(row)
            await self._audit(c, kind, {"id": updated.id, "name": updated.name, **audit})
        return updated

    async def _raise_missing_or_changed(self, conn: Connection, credential_id: int) -> NoReturn:
        if await conn.fetchval("SELECT 1 FROM exchange_credentials WHERE id = $1", credential_id):
            raise CredentialConflictError(
                f"credential {credential_id} was changed meanwhile (rotated, renamed or tested "
                "by someone else): read it again and retry"
            )
        raise CredentialNotFoundError(f"credential {credential_id}: no such credential")

    async def delete(self, credential_id: int, audit: Mapping[str, Any]) -> StoredCredential:
        async with self._tx(None) as c:
            row = await c.fetchrow(
                "DELETE FROM exchange_credentials WHERE id = $1 RETURNING *", credential_id
            )
            if row is None:
                raise CredentialNotFoundError(f"credential {credential_id}: no such credential")
            deleted = _credential(row)
            payload = {"id": deleted.id, "name": deleted.name, "exchange": deleted.exchange}
            await self._audit(c, "credential_deleted", {**payload, **audit})
        return deleted

    async def audit_records(self) -> list[AuditRecord]:
        """The ``credentials`` audit stream, oldest first."""
        return await AuditRepository(self.pool).records(AUDIT_STREAM)

    async def _audit(self, conn: Connection, kind: str, payload: Mapping[str, Any]) -> None:
        # one writer at a time per stream: the chain needs the previous record's hash
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"audit:{AUDIT_STREAM}")
        last = await conn.fetchrow(
            "SELECT seq, hash FROM audit_log WHERE stream = $1 ORDER BY seq DESC LIMIT 1",
            AUDIT_STREAM,
        )
        seq = 0 if last is None else last["seq"] + 1
        prev = GENESIS_HASH if last is None else last["hash"]
        ts = utc_now().isoformat()
        payload_json = canonical_json(dict(payload), f"audit {kind} payload")
        digest = record_hash(seq, ts, kind, payload_json, prev)
        record = AuditRecord(seq, ts, kind, json.loads(payload_json), prev, digest)
        await AuditRepository(self.pool).append(record, AUDIT_STREAM, conn)


def _name_taken(name: str) -> CredentialConflictError:
    return CredentialConflictError(f"a credential named {name!r} exists already")
