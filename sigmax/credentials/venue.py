"""Where a venue's API keys come from, in order.

1. The stored, encrypted credential of that name (``sigmax credentials add``), when
   PostgreSQL holds one: decrypted on demand, and refused when it was not tested,
   failed its test, may withdraw, or is for another exchange.
2. Vault KV ``exchanges/<name>``, else ``SIGMAX_EXCHANGE_<NAME>_API_KEY`` / ``_SECRET``
   in the process environment (:class:`~sigmax.secrets.SecretsManager`).

The name is ``VenueConfig.credentials``, by default the exchange id. Keys are read
where the venue is built (the driver's check, the execution actor): never handed
through a Ray runtime_env, which Ray writes to its logs.
"""

from __future__ import annotations

import logging

import asyncpg

from sigmax.credentials.cipher_choice import open_cipher
from sigmax.credentials.manager import CredentialManager
from sigmax.credentials.model import CredentialError, CredentialNotFoundError
from sigmax.credentials.provider import run_blocking
from sigmax.credentials.repository import ExchangeCredentialRepository
from sigmax.execution.credentials import ExchangeCredentials
from sigmax.execution.errors import CredentialsError
from sigmax.secrets import SecretsManager
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.postgres import DatabaseUnavailableError, PostgresPool
from sigmax.storage.postgres_config import PostgresConfig

log = logging.getLogger(__name__)


class VenueCredentials:
    """A credentials provider for one exchange: asked for a name, it gives the stored
    credential of that name, else the secrets backend's (Vault, then environment)."""

    def __init__(
        self,
        exchange_id: str,
        postgres: PostgresConfig | None = None,
        vault: SecretsConfig | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self._postgres = postgres
        self._vault = vault if vault is not None else SecretsConfig()

    def __repr__(self) -> str:
        return f"VenueCredentials(exchange_id={self.exchange_id!r})"

    def get_exchange_credentials(self, name: str) -> ExchangeCredentials:
        stored = self._stored(name)
        if stored is not None:
            return stored
        return SecretsManager(self._vault).get_exchange_credentials(name)

    def _stored(self, name: str) -> ExchangeCredentials | None:
        if self._postgres is None or not self._postgres.dsn:
            return None
        try:
            return run_blocking(self._load(name))
        except (CredentialNotFoundError, asyncpg.UndefinedTableError):
            return None  # none stored under that name: the secrets backend's turn
        except DatabaseUnavailableError as exc:
            log.warning("stored credentials unreadable (%s); trying Vault and the environment", exc)
            return None
        except CredentialError as exc:  # stored, but not usable: never fall back past it
            raise CredentialsError(f"stored credential {name!r}: {exc}") from None

    async def _load(self, name: str) -> ExchangeCredentials:
        config = self._postgres
        assert config is not None
        config = config.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(config) as pool:
            manager = CredentialManager(
                ExchangeCredentialRepository(pool), open_cipher(self._vault)
            )
            return await manager.load(name, self.exchange_id)
