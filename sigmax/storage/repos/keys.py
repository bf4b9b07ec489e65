"""API keys: only a sha256 of each key is stored; the plaintext is shown once.

Keys are 256-bit random secrets, not passwords: a slow hash (bcrypt, argon2) protects
low-entropy secrets against guessing, which is hopeless here anyway, and would cost
tens of milliseconds on every API request. A key looks like ``sgx_<prefix>_<secret>``;
the public random prefix finds the row, the hash of the whole key is compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sigmax.errors import ConflictError, InvalidInputError, NotFoundError
from sigmax.model import utc_now
from sigmax.storage.postgres import Connection, StorageError
from sigmax.storage.repos._base import Repository

KEY_SCHEME = "sgx"


class ApiKeyError(StorageError):
    """An API key operation was refused; each subclass is in one category."""


class ApiKeyNotFoundError(ApiKeyError, NotFoundError):
    """No API key has that id."""


class ApiKeyConflictError(ApiKeyError, ConflictError):
    """The key's state does not allow the operation (a revoked or expired key)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's stored metadata (never the key itself)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    rotated_from: int | None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row["id"],
        row["name"],
        row["prefix"],
        tuple(row["scopes"]),
        row["created_at"],
        row["expires_at"],
        row["last_used_at"],
        row["revoked_at"],
        row["rotated_from"],
    )


_INSERT = """
INSERT INTO api_keys (name, prefix, key_hash, scopes, expires_at, rotated_from)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING *
"""


class ApiKeyRepository(Repository):
    """Create, verify, revoke and rotate API keys."""

    async def create(
        self,
        name: str,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        conn: Connection | None = None,
        rotated_from: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key: ``(metadata, plaintext)``; the plaintext is not stored anywhere."""
        if not name:
            raise InvalidInputError("api key: name must not be empty")
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidInputError("api key: expires_at must be timezone-aware")
        prefix, plaintext = _new_key()
        async with self._conn(conn) as c:
            row = await c.fetchrow(
                _INSERT, name, prefix, hash_key(plaintext), list(scopes), expires_at, rotated_from
            )
        return _key(row), plaintext

    async def verify(self, plaintext: str, scope: str | None = None) -> ApiKey | None:
        """The key's metadata if it is valid, active and has ``scope``; else None.

        A successful check records ``last_used_at``.
        """
        parts = plaintext.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_SCHEME:
            return None
        async with self._conn(None) as c:
            row = await c.fetchrow("SELECT * FROM api_keys WHERE prefix = $1", parts[1])
            if row is None or not hmac.compare_digest(row["key_hash"], hash_key(plaintext)):
                return None
            key = _key(row)
            if not key.is_active(utc_now()) or (scope is not None and scope not in key.scopes):
                return None
            row = await c.fetchrow(
                "UPDATE api_keys SET last_used_at = now() WHERE id = $1 RETURNING *", key.id
            )
        return _key(row)

    async def get(self, key_id: int) -> ApiKey | None:
        async with self._conn(None) as c:
            row = await c.fetchrow("SELECT * FROM api_keys WHERE id = $1", key_id)
        return None if row is None else _key(row)

    async def all(self) -> list[ApiKey]:
        """Every key, revoked and expired ones included, by id."""
        async with self._conn(None) as c:
            rows = await c.fetch("SELECT * FROM api_keys ORDER BY id")
        return [_key(r) for r in rows]

    async def revoke(self, key_id: int, conn: Connection | None = None) -> ApiKey:
        """Revoke a key (idempotent: the first revocation time is kept)."""
        async with self._conn(conn) as c:
            row = await c.fetchrow(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())"
                " WHERE id = $1 RETURNING *",
                key_id,
            )
        if row is None:
            raise ApiKeyNotFoundError(f"api key {key_id}: no such key")
        return _key(row)

    async def rotate(self, key_id: int) -> tuple[ApiKey, str]:
        """Replace an active key by a new one (same name, scopes, expiry), revoking it."""
        async with self._tx(None) as c:
            row = await c.fetchrow("SELECT * FROM api_keys WHERE id = $1 FOR UPDATE", key_id)
            if row is None:
                raise ApiKeyNotFoundError(f"api key {key_id}: no such key")
            old = _key(row)
            if not old.is_active(utc_now()):
                raise ApiKeyConflictError(
                    f"api key {key_id}: revoked or expired keys cannot be rotated"
                )
            new = await self.create(
                old.name, old.scopes, old.expires_at, conn=c, rotated_from=old.id
            )
            await self.revoke(old.id, conn=c)
        return new
