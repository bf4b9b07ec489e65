"""The PostgreSQL pool of an actor's process, opened (and migrated) on first use."""

from __future__ import annotations

from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool, get_pool
from sigmax.storage.postgres_config import PostgresConfig

_migrated: set[str] = set()


async def actor_pool(config_json: str) -> PostgresPool:
    """The process-wide pool of a PostgresConfig (as JSON, with its DSN resolved);
    the schema is migrated once per process."""
    pool = await get_pool(PostgresConfig.model_validate_json(config_json))
    if config_json not in _migrated:
        await migrate(pool)
        _migrated.add(config_json)
    return pool
