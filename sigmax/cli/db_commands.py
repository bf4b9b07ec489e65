"""``sigmax db``: apply and inspect the PostgreSQL schema migrations."""

from __future__ import annotations

import asyncio

import typer

from sigmax.cli.errors import ReportingGroup
from sigmax.storage.migrations import migrate, migration_status
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig

app = typer.Typer(
    cls=ReportingGroup,
    help="PostgreSQL schema: migrate, status.",
    no_args_is_help=True,
    add_completion=False,
)


def _config() -> PostgresConfig:
    # The CLI needs one connection, not the service pool size.
    return PostgresConfig().model_copy(update={"pool_size": 1, "max_overflow": 0})


async def _migrate() -> list[str]:
    async with PostgresPool(_config()) as pool:
        return [m.name for m in await migrate(pool)]


async def _status() -> list[tuple[str, str, str]]:
    async with PostgresPool(_config()) as pool:
        return [
            (s.name, s.state, s.applied_at.isoformat() if s.applied_at else "-")
            for s in await migration_status(pool)
        ]


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (SIGMAX_POSTGRES_DSN, or the embedded server)."""
    applied = asyncio.run(_migrate())
    if applied:
        for name in applied:
            typer.echo(f"applied {name}")
    else:
        typer.echo("database is up to date")


@app.command("status")
def status_command() -> None:
    """List migrations and whether each is applied, pending or changed."""
    rows = asyncio.run(_status())
    for name, state, applied_at in rows:
        typer.echo(f"{name:<32} {state:<8} {applied_at}")
    if any(state != "applied" for _n, state, _a in rows):
        raise typer.Exit(2)
