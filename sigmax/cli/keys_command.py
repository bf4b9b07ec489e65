"""``sigmax keys``: create, list, revoke and rotate API keys (stored hashed in PostgreSQL).

Uses the same database as the API: ``SIGMAX_POSTGRES_DSN``, or the embedded server
under ``SIGMAX_HOME``. A new key is printed once; only its hash is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sigmax.cli.errors import ReportingGroup
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repos.keys import ApiKey, ApiKeyRepository

T = TypeVar("T")
SCOPES = ("read", "trade", "admin")

app = typer.Typer(
    cls=ReportingGroup,
    help="API keys: create (shown once), list, revoke, rotate.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _run(action: Callable[[ApiKeyRepository], Awaitable[T]]) -> T:
    async def go() -> T:
        config = PostgresConfig().model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(config) as pool:
            await migrate(pool)
            return await action(ApiKeyRepository(pool))

    return asyncio.run(go())


def _scopes(text: str) -> list[str]:
    scopes = sorted({s.strip() for s in text.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise typer.BadParameter(f"scopes must be a comma list of {', '.join(SCOPES)}")
    return scopes


def _show_new(key: ApiKey, plaintext: str) -> None:
    typer.echo(f"id:      {key.id}")
    typer.echo(f"name:    {key.name}")
    typer.echo(f"scopes:  {','.join(key.scopes)}")
    typer.echo(f"expires: {key.expires_at.isoformat() if key.expires_at else 'never'}")
    typer.echo(f"key:     {plaintext}")
    typer.echo("Store the key now: it is not shown again (only its hash is kept).", err=True)


@app.command("create")
def create(
    scope: Annotated[str, typer.Option("--scope", help="comma list: read,trade,admin")] = "read",
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="expire after N days")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="what the key is for")] = "cli",
) -> None:
    """Create a key and print it once."""
    scopes = _scopes(scope)
    expires = None if expires_days is None else datetime.now(UTC) + timedelta(days=expires_days)
    key, plaintext = _run(lambda repo: repo.create(name, scopes, expires))
    _show_new(key, plaintext)


async def _all(repo: ApiKeyRepository) -> list[ApiKey]:
    async with repo.pool.acquire() as conn:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM api_keys ORDER BY id")]
    found = [await repo.get(i) for i in ids]
    return [k for k in found if k is not None]


@app.command("list")
def list_keys() -> None:
    """List keys (never the keys themselves)."""
    keys = _run(_all)
    now = datetime.now(UTC)
    table = Table(title="API keys")
    for column in ("id", "name", "prefix", "scopes", "state", "expires", "last used"):
        table.add_column(column)
    for k in keys:
        state = "revoked" if k.revoked_at else ("active" if k.is_active(now) else "expired")
        table.add_row(
            str(k.id),
            k.name,
            k.prefix,
            ",".join(k.scopes),
            state,
            k.expires_at.isoformat(timespec="seconds") if k.expires_at else "never",
            k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "-",
        )
    console.print(table)


@app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="key id (see `sigmax keys list`)")]) -> None:
    """Revoke a key: it stops working at once."""
    key = _run(lambda repo: repo.revoke(key_id))
    typer.echo(f"revoked key {key.id} ({key.name}) at {key.revoked_at}")


@app.command("rotate")
def rotate(key_id: Annotated[int, typer.Argument(help="key id (see `sigmax keys list`)")]) -> None:
    """Replace a key by a new one with the same name, scopes and expiry; print it once."""
    key, plaintext = _run(lambda repo: repo.rotate(key_id))
    typer.echo(f"key {key_id} revoked; its replacement:")
    _show_new(key, plaintext)
