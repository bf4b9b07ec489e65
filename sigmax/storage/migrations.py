"""PostgreSQL schema migrations: plain SQL files applied in order, once, under a lock.

Why not alembic: SIGMAX talks to PostgreSQL through asyncpg only, without SQLAlchemy,
and alembic needs SQLAlchemy engines and Python migration scripts. What is needed is
small enough to own:

* migrations are plain SQL files ``NNNN_name.sql`` in ``migrations/postgres/``,
  applied in version order;
* ``schema_migrations`` records each applied version with the sha256 of its file;
  a file changed after it was applied makes :func:`migrate` refuse to run
  (:class:`ChecksumMismatchError`) instead of leaving databases that differ silently;
* each migration runs in one transaction together with its bookkeeping row, so a
  failing migration leaves nothing behind;
* a PostgreSQL advisory lock (per database and schema) serialises concurrent
  migrators: a second process waits, then finds nothing left to do.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sigmax.errors import ConflictError
from sigmax.storage.postgres import (
    Connection,
    PostgresPool,
    StorageError,
    _is_closed,
    get_pool,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations" / "postgres"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version      INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    checksum     TEXT NOT NULL,
    applied_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    execution_ms DOUBLE PRECISION NOT NULL
)
"""


class MigrationError(StorageError, ConflictError):
    """The migration files or the database's migration history are inconsistent."""


class ChecksumMismatchError(MigrationError):
    """An applied migration's file was changed afterwards."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file: version, name, text and the sha256 of its bytes."""

    version: int
    name: str
    sql: str
    checksum: str


@dataclass(frozen=True, slots=True)
class MigrationState:
    """A migration and where it stands in one database: applied, pending or changed."""

    version: int
    name: str
    state: str
    applied_at: datetime | None


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, by version; bad names or duplicates raise."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name}: name must look like 0001_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"migration version {version} appears twice ({found[version].name}, {path.name})"
            )
        data = path.read_bytes()
        found[version] = Migration(
            version, path.stem, data.decode("utf-8"), hashlib.sha256(data).hexdigest()
        )
    return [found[v] for v in sorted(found)]


def _lock_key(database: str, schema: str) -> int:
    digest = hashlib.sha256(f"sigmax.migrations:{database}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _applied(conn: Connection) -> dict[int, tuple[str, str, datetime]]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name, checksum, applied_at FROM schema_migrations")
    return {r["version"]: (r["name"], r["checksum"], r["applied_at"]) for r in rows}


def _check_history(
    migrations: list[Migration], applied: dict[int, tuple[str, str, datetime]]
) -> None:
    by_version = {m.version: m for m in migrations}
    unknown = sorted(set(applied) - set(by_version))
    if unknown:
        raise MigrationError(
            f"database has migrations {unknown} that this code does not know: "
            "it was migrated by a newer SIGMAX"
        )
    changed = [
        by_version[v].name
        for v, (_n, checksum, _t) in applied.items()
        if by_version[v].checksum != checksum
    ]
    if changed:
        raise ChecksumMismatchError(
            f"applied migrations were changed afterwards: {', '.join(sorted(changed))}; "
            "restore the original files and add a new migration instead"
        )


async def _prepare(pool: PostgresPool, conn: Connection) -> None:
    schema = pool.config.schema_name
    if schema:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # name is validated


async def migrate(
    pool: PostgresPool | None = None, directory: Path = MIGRATIONS_DIR
) -> list[Migration]:
    """Apply the pending migrations; returns those applied (empty when up to date)."""
    migrations = load_migrations(directory)
    pool = pool if pool is not None else await get_pool()
    applied_now: list[Migration] = []
    async with pool.acquire() as conn:
        await _prepare(pool, conn)
        database, schema = await conn.fetchrow("SELECT current_database(), current_schema()")
        key = _lock_key(database, schema)
        await conn.execute("SELECT pg_advisory_lock($1)", key)
        try:
            await conn.execute(_TABLE)
            applied = await _applied(conn)
            _check_history(migrations, applied)
            for migration in migrations:
                if migration.version in applied:
                    continue
                started = time.perf_counter()
                async with conn.transaction():
                    try:
                        await conn.execute(migration.sql)
                    except Exception as exc:
                        if _is_closed(conn):  # an outage, not a bad migration
                            raise
                        raise MigrationError(
                            f"migration {migration.name} failed and was rolled back: {exc}"
                        ) from exc
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum, execution_ms)"
                        " VALUES ($1, $2, $3, $4)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                        (time.perf_counter() - started) * 1000,
                    )
                applied_now.append(migration)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", key)
    return applied_now


async def migration_status(
    pool: PostgresPool | None = None, directory: Path = MIGRATIONS_DIR
) -> list[MigrationState]:
    """Each known migration with its state: ``applied``, ``pending`` or ``changed``."""
    migrations = load_migrations(directory)
    pool = pool if pool is not None else await get_pool()
    async with pool.acquire() as conn:
        applied = await _applied(conn)
    states = []
    for m in migrations:
        row = applied.get(m.version)
        if row is None:
            states.append(MigrationState(m.version, m.name, "pending", None))
        else:
            state = "applied" if row[1] == m.checksum else "changed"
            states.append(MigrationState(m.version, m.name, state, row[2]))
    return states
