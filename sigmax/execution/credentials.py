"""Exchange API credentials and where they come from.

Providers: :class:`EnvCredentialsProvider` (environment variables),
``sigmax.secrets.SecretsManager`` (Vault KV, env fallback), and
``sigmax.credentials.provider.StoredCredentialsProvider`` (an operator's stored, encrypted
credential by name; only one that passed its exchange test). Credentials never appear in
reprs: :class:`ExchangeCredentials` masks every field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sigmax.execution.errors import CredentialsError


@dataclass(frozen=True, slots=True)
class ExchangeCredentials:
    """API key, secret and optional passphrase of one exchange account."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.api_key or not self.secret:
            raise CredentialsError("exchange credentials need a non-empty api_key and secret")

    def __repr__(self) -> str:
        password = "None" if self.password is None else "'***'"
        return f"ExchangeCredentials(api_key='***', secret='***', password={password})"

    __str__ = __repr__

    def values(self) -> tuple[str, ...]:
        """The secret strings themselves, for redacting them out of text."""
        return tuple(v for v in (self.api_key, self.secret, self.password) if v)


@runtime_checkable
class CredentialsProvider(Protocol):
    """Something that can hand out the credentials of an exchange account."""

    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        """The credentials for ``exchange_id``; raises CredentialsError if there are none."""
        ...


class EnvCredentialsProvider:
    """Reads ``SIGMAX_EXCHANGE_<ID>_API_KEY``, ``_SECRET`` and optional ``_PASSWORD``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def __repr__(self) -> str:
        return "EnvCredentialsProvider()"

    @staticmethod
    def variable_prefix(exchange_id: str) -> str:
        """The env-var prefix of one exchange, e.g. ``SIGMAX_EXCHANGE_BINANCE_``."""
        if not re.fullmatch(r"[A-Za-z0-9_]+", exchange_id):
            raise CredentialsError(f"exchange id {exchange_id!r} is not a valid env-var part")
        return f"SIGMAX_EXCHANGE_{exchange_id.upper()}_"

    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        prefix = self.variable_prefix(exchange_id)
        api_key = self._environ.get(prefix + "API_KEY", "")
        secret = self._environ.get(prefix + "SECRET", "")
        missing = [n for n, v in (("API_KEY", api_key), ("SECRET", secret)) if not v]
        if missing:
            names = ", ".join(prefix + n for n in missing)
            raise CredentialsError(f"exchange {exchange_id}: environment variables unset: {names}")
        password = self._environ.get(prefix + "PASSWORD") or None
        return ExchangeCredentials(api_key, secret, password)
