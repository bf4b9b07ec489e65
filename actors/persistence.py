"""The PostgreSQL pool of an actor's process, opened (and migrated) on first use.

Opening it also starts publishing the process's pool gauges for the API's
``/api/v1/metrics`` (:func:`actors.ray_metrics.start_pool_publisher`)."""

from __future__ import annotations

from actors.ray_metrics import start_pool_publisher
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
    start_pool_publisher()
    return pool
