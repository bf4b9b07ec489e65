"""Value types of managed exchange credentials: the stored record (ciphertexts only),
the permissions a test found, and the checks on names, exchanges and secret fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sigmax.credentials.cipher import CipherKind
from sigmax.errors import ConflictError, InvalidInputError, NotFoundError, SigmaxError

Status = Literal["untested", "ok", "refused", "failed"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
_SECRET_MAX = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CredentialError(SigmaxError, ValueError):
    """Base of the managed-credential errors; the message names the field, never a secret
    value. Each subclass is in one category (a ValueError still, as callers expect)."""


class InvalidCredentialError(CredentialError, InvalidInputError):
    """A credential request is invalid: a bad name, exchange or secret field."""


class CredentialNotFoundError(CredentialError, NotFoundError):
    """No stored credential has that id or name."""


class CredentialConflictError(CredentialError, ConflictError):
    """The name is taken, or the credential cannot be used in its current state."""


@dataclass(frozen=True, slots=True)
class Permissions:
    """What the exchange says the key may do; None where the exchange cannot tell."""

    read: bool | None = None
    trade: bool | None = None
    withdraw: bool | None = None

    def to_json(self) -> dict[str, bool | None]:
        return {"read": self.read, "trade": self.trade, "withdraw": self.withdraw}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Permissions | None:
        if data is None:
            return None
        return cls(data.get("read"), data.get("trade"), data.get("withdraw"))


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """One row of ``exchange_credentials``: metadata and ciphertexts, never plaintext."""

    id: int
    name: str
    exchange: str
    sandbox: bool
    api_key_ciphertext: str
    secret_ciphertext: str
    password_ciphertext: str | None
    hint: str
    cipher: CipherKind
    key_ref: str
    status: Status
    permissions: Permissions | None
    allow_withdraw: bool
    last_error: str | None
    tested_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return (
            f"StoredCredential(id={self.id}, name={self.name!r}, exchange={self.exchange!r}, "
            f"hint={self.hint!r}, status={self.status!r})"
        )

    def public(self) -> dict[str, Any]:
        """Everything an operator may see: no ciphertext, no secret."""
        return {
            "id": self.id,
            "name": self.name,
            "exchange": self.exchange,
            "sandbox": self.sandbox,
            "hint": self.hint,
            "cipher": self.cipher,
            "key_ref": self.key_ref,
            "status": self.status,
            "permissions": None if self.permissions is None else self.permissions.to_json(),
            "allow_withdraw": self.allow_withdraw,
            "last_error": self.last_error,
            "tested_at": self.tested_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidCredentialError(
            f"name {name!r} is invalid: 1-64 letters, digits, '_', '-', '.', "
            "starting with a letter or digit"
        )
    return name


def check_exchange(exchange: str) -> str:
    import ccxt  # here, not at module level: the storage layer imports this module

    if exchange not in ccxt.exchanges:
        raise InvalidCredentialError(
            f"exchange {exchange!r} is not a ccxt exchange id (e.g. binance, kraken, bybit, okx)"
        )
    return exchange


def check_secret(field: str, value: str) -> str:
    """A secret field's value, checked without ever quoting it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidCredentialError(f"{field} must not be empty")
    if len(value) > _SECRET_MAX:
        raise InvalidCredentialError(f"{field} is longer than {_SECRET_MAX} characters")
    if _CONTROL.search(value) or value != value.strip():
        raise InvalidCredentialError(
            f"{field} contains control characters or surrounding whitespace (a paste error?)"
        )
    return value


def mask(api_key: str) -> str:
    """The hint shown for a key: its last 4 characters (fewer for very short keys)."""
    shown = 4 if len(api_key) >= 12 else max(0, len(api_key) // 4)
    return "****" + (api_key[-shown:] if shown else "")
