"""Operators' exchange credentials: encrypt and store, rotate, delete, test with the
exchange, and hand out (decrypted) only those that passed their test.

Used by the API (``/api/v1/credentials``) and by ``sigmax credentials`` alike. Secrets
enter as plain strings, are encrypted at once (blocking cipher and ccxt calls run in a
worker thread) and leave only as :class:`ExchangeCredentials` from :meth:`load`, whose
repr is masked. Each change is audited with ``actor`` (who did it), never a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ccxt

from sigmax.credentials.cipher import Cipher, CipherError
from sigmax.credentials.model import (
    CredentialConflictError,
    InvalidCredentialError,
    Permissions,
    Status,
    StoredCredential,
    check_exchange,
    check_name,
    check_secret,
    mask,
)
from sigmax.credentials.permission_check import PermissionCheckError, check_permissions
from sigmax.credentials.repository import ExchangeCredentialRepository
from sigmax.execution.credentials import ExchangeCredentials
from sigmax.model import utc_now


@dataclass(frozen=True, slots=True)
class SecretFields:
    """The secret parts of a credential, as typed by the operator."""

    api_key: str
    secret: str
    password: str | None = None

    def __repr__(self) -> str:
        return "SecretFields(api_key='***', secret='***', password='***')"

    def checked(self) -> SecretFields:
        check_secret("api_key", self.api_key)
        check_secret("secret", self.secret)
        if self.password is not None:
            check_secret("password", self.password)
        return self


class CredentialManager:
    """Stored exchange credentials over a repository and a cipher."""

    def __init__(
        self,
        repo: ExchangeCredentialRepository,
        cipher: Cipher,
        exchange_classes: Mapping[str, type[ccxt.Exchange]] | None = None,
    ) -> None:
        self.repo = repo
        self.cipher = cipher
        # ccxt classes by exchange id instead of ccxt's own (tests: recorded responses)
        self._exchange_classes = dict(exchange_classes or {})

    async def create(
        self, name: str, exchange: str, fields: SecretFields, *, sandbox: bool, actor: str
    ) -> StoredCredential:
        check_name(name)
        check_exchange(exchange)
        encrypted = await self._encrypt(fields.checked())
        values = {"name": name, "exchange": exchange, "sandbox": sandbox, **encrypted}
        audit = {"name": name, "exchange": exchange, "sandbox": sandbox, "actor": actor}
        return await self.repo.create(values, audit)

    async def all(self) -> list[StoredCredential]:
        return await self.repo.all()

    async def get(self, credential_id: int) -> StoredCredential:
        return await self.repo.get(credential_id)

    async def update(
        self,
        credential_id: int,
        *,
        actor: str,
        name: str | None = None,
        fields: SecretFields | None = None,
        sandbox: bool | None = None,
    ) -> StoredCredential:
        """Rename, rotate the secrets, or switch sandbox; new secrets or another sandbox
        setting must be tested again."""
        stored = await self.repo.get(credential_id)
        changes: dict[str, Any] = {}
        if name is not None and name != stored.name:
            changes["name"] = check_name(name)
        if sandbox is not None and sandbox != stored.sandbox:
            changes["sandbox"] = sandbox
        if fields is not None:
            changes.update(await self._encrypt(fields.checked()))
        if not changes:
            raise InvalidCredentialError(
                "nothing to change: give a new name, new secrets or sandbox"
            )
        if fields is not None or "sandbox" in changes:
            changes.update(
                status="untested",
                permissions=None,
                allow_withdraw=False,
                last_error=None,
                tested_at=None,
            )
        changed: list[str] = [k for k in ("name", "sandbox") if k in changes]
        changed += ["secrets"] if fields is not None else []
        audit = {"changed": changed, "actor": actor}
        return await self.repo.update(
            credential_id, changes, "credential_updated", audit, unchanged_since=stored.updated_at
        )

    async def delete(self, credential_id: int, *, actor: str) -> StoredCredential:
        return await self.repo.delete(credential_id, {"actor": actor})

    async def test(
        self, credential_id: int, *, allow_withdraw: bool, actor: str
    ) -> StoredCredential:
        """Check with the exchange; withdrawal rights are refused unless ``allow_withdraw``."""
        stored = await self.repo.get(credential_id)
        credentials = await self._decrypt(stored)
        cls = self._exchange_classes.get(stored.exchange)
        permissions: Permissions | None = None
        error: str | None = None
        try:
            permissions = await asyncio.to_thread(
                check_permissions, stored.exchange, stored.sandbox, credentials, cls
            )
        except PermissionCheckError as exc:
            error = str(exc)
        status = _verdict(permissions, allow_withdraw)
        changes = {
            "status": status,
            "permissions": None if permissions is None else permissions.to_json(),
            "allow_withdraw": allow_withdraw,
            "last_error": error,
            "tested_at": utc_now(),
        }
        audit = {
            "status": status,
            "permissions": changes["permissions"],
            "allow_withdraw": allow_withdraw,
            "withdraw_override_used": status == "ok" and bool(permissions and permissions.withdraw),
            "error": error,
            "actor": actor,
        }
        return await self.repo.update(
            credential_id, changes, "credential_tested", audit, unchanged_since=stored.updated_at
        )

    async def load(self, name: str, exchange_id: str | None = None) -> ExchangeCredentials:
        """The decrypted credentials of a tested, accepted credential (for a venue)."""
        stored = await self.repo.get_by_name(name)
        if exchange_id is not None and stored.exchange != exchange_id:
            raise CredentialConflictError(
                f"credential {name!r} is for {stored.exchange}, not {exchange_id}"
            )
        _require_usable(stored)
        return await self._decrypt(stored)

    async def _encrypt(self, fields: SecretFields) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            api_key = self.cipher.encrypt(fields.api_key)
            return {
                "api_key_ciphertext": api_key,
                "secret_ciphertext": self.cipher.encrypt(fields.secret),
                "password_ciphertext": None
                if fields.password is None
                else self.cipher.encrypt(fields.password),
                "hint": mask(fields.api_key),
                "cipher": self.cipher.kind,
                "key_ref": self.cipher.key_ref(api_key),
            }

        return await asyncio.to_thread(run)

    async def _decrypt(self, stored: StoredCredential) -> ExchangeCredentials:
        if stored.cipher != self.cipher.kind:
            raise CipherError(
                f"credential {stored.name!r} was encrypted with {stored.cipher} "
                f"({stored.key_ref}), but the configured cipher is {self.cipher.kind}: "
                "configure the Vault (or local key) it was stored with, or add it again"
            )

        def run() -> ExchangeCredentials:
            password = stored.password_ciphertext
            return ExchangeCredentials(
                api_key=self.cipher.decrypt(stored.api_key_ciphertext),
                secret=self.cipher.decrypt(stored.secret_ciphertext),
                password=None if password is None else self.cipher.decrypt(password),
            )

        return await asyncio.to_thread(run)


def _verdict(permissions: Permissions | None, allow_withdraw: bool) -> Status:
    if permissions is None:
        return "failed"
    if permissions.withdraw and not allow_withdraw:
        return "refused"
    return "ok"


def _require_usable(stored: StoredCredential) -> None:
    name = stored.name
    if stored.status == "untested":
        raise CredentialConflictError(
            f"credential {name!r} is untested: run `sigmax credentials test {name}` "
            f"(or POST /api/v1/credentials/{stored.id}/test) first"
        )
    if stored.status == "refused":
        raise CredentialConflictError(
            f"credential {name!r} was refused: the key has withdrawal rights; remove them at "
            "the exchange, or test again with the explicit override (--allow-withdraw)"
        )
    if stored.status == "failed":
        raise CredentialConflictError(
            f"credential {name!r} failed its last test: {stored.last_error}"
        )
