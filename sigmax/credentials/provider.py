"""A :class:`~sigmax.execution.credentials.CredentialsProvider` over one stored credential.

``CcxtVenue(config, StoredCredentialsProvider("binance-main"))`` trades with the stored
credential of that name: decrypted on demand, and refused (``CredentialsError``) when it
is untested, failed its test, was refused for withdrawal rights, or is for another
exchange than the venue's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

from sigmax.credentials.cipher import CipherError
from sigmax.credentials.cipher_choice import open_cipher
from sigmax.credentials.manager import CredentialManager
from sigmax.credentials.model import CredentialError
from sigmax.credentials.repository import ExchangeCredentialRepository
from sigmax.execution.credentials import ExchangeCredentials
from sigmax.execution.errors import CredentialsError
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig

T = TypeVar("T")


class StoredCredentialsProvider:
    """Loads the stored credential ``name`` from PostgreSQL and decrypts it."""

    def __init__(
        self,
        name: str,
        postgres: PostgresConfig | None = None,
        vault: SecretsConfig | None = None,
    ) -> None:
        self.name = name
        self._postgres = postgres if postgres is not None else PostgresConfig()
        self._vault = vault if vault is not None else SecretsConfig()

    def __repr__(self) -> str:
        return f"StoredCredentialsProvider(name={self.name!r})"

    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        try:
            return run_blocking(self._load(exchange_id))
        except (CredentialError, CipherError) as exc:
            raise CredentialsError(f"stored credential {self.name!r}: {exc}") from None
        except asyncpg.UndefinedTableError:
            raise CredentialsError(
                "no exchange_credentials table: run `sigmax db migrate` first"
            ) from None

    async def _load(self, exchange_id: str) -> ExchangeCredentials:
        config = self._postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(config) as pool:
            repo = ExchangeCredentialRepository(pool)
            manager = CredentialManager(repo, open_cipher(self._vault))
            return await manager.load(self.name, exchange_id)


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end in a thread of its own, so this works from plain code and
    from inside an event loop (an async actor's method)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
