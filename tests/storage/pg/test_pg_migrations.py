"""Migration runner: empty schema, idempotence, checksums, rollback, lock, CLI."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from sigmax.cli.db_commands import app
from sigmax.storage.migrations import (
    MIGRATIONS_DIR,
    ChecksumMismatchError,
    MigrationError,
    load_migrations,
    migrate,
    migration_status,
)
from sigmax.storage.postgres import PostgresPool
from tests.storage.pg.pg_fixtures import ADMIN_DSN, make_config

TABLES = {
    "orders",
    "order_events",
    "fills",
    "positions",
    "decisions",
    "risk_events",
    "audit_log",
    "api_keys",
    "backtest_runs",
    "schema_migrations",
    "risk_state",
    "proposals",
    "exchange_credentials",
    "session_progress",
}


def _pool(schema: str) -> PostgresPool:
    return PostgresPool(make_config(schema), registry=CollectorRegistry())


async def _tables(pool: PostgresPool, schema: str) -> set[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
    return {r["table_name"] for r in rows}


@pytest.mark.asyncio
async def test_pg_migrate_empty_schema_then_idempotent(empty_schema: str) -> None:
    async with _pool(empty_schema) as pool:
        assert await _tables(pool, empty_schema) == set()
        applied = await migrate(pool)
        assert [m.name for m in applied] == [m.name for m in load_migrations()]
        assert await _tables(pool, empty_schema) == TABLES
        assert await migrate(pool) == []
        states = await migration_status(pool)
        assert {s.state for s in states} == {"applied"}


@pytest.mark.asyncio
async def test_pg_migrate_refuses_changed_checksum(empty_schema: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    async with _pool(empty_schema) as pool:
        await migrate(pool, directory)
        first = sorted(directory.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited after it was applied\n")
        with pytest.raises(ChecksumMismatchError, match="0001_core"):
            await migrate(pool, directory)
        states = await migration_status(pool, directory)
        assert states[0].state == "changed"


@pytest.mark.asyncio
async def test_pg_failed_migration_leaves_nothing(empty_schema: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    (directory / "0099_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n"
    )
    async with _pool(empty_schema) as pool:
        with pytest.raises(MigrationError, match="0099_broken"):
            await migrate(pool, directory)
        tables = await _tables(pool, empty_schema)
        assert "half_done" not in tables
        assert "orders" in tables  # 0001 committed in its own transaction
        states = {s.name: s.state for s in await migration_status(pool, directory)}
        shipped = {m.name: "applied" for m in load_migrations()}
        assert states == {**shipped, "0099_broken": "pending"}


@pytest.mark.asyncio
async def test_pg_concurrent_migrators_apply_once(empty_schema: str) -> None:
    async with _pool(empty_schema) as a, _pool(empty_schema) as b:
        results = await asyncio.gather(migrate(a), migrate(b))
    assert sorted(len(r) for r in results) == [0, len(load_migrations())]


def test_pg_bad_migration_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "1_x.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="0001_name.sql"):
        load_migrations(tmp_path)


def test_pg_cli_migrate_and_status(empty_schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", ADMIN_DSN)
    monkeypatch.setenv("SIGMAX_POSTGRES_SCHEMA", empty_schema)
    runner = CliRunner()
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 2, status.output
    assert "pending" in status.output
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "applied 0001_core" in result.output
    again = runner.invoke(app, ["migrate"])
    assert again.exit_code == 0 and "up to date" in again.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and "applied" in status.output

    async def count() -> int:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            return int(
                await conn.fetchval(f"SELECT count(*) FROM {empty_schema}.schema_migrations")
            )
        finally:
            await conn.close()

    assert asyncio.run(count()) == len(load_migrations())


def test_pg_cli_reports_unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:1/none")
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "unreachable" in result.output
