"""``sigmax credentials``: add, list, update, delete and test stored exchange credentials.

Like ``sigmax keys``, it works on the database the API uses (``SIGMAX_POSTGRES_DSN``, or
the embedded server under ``SIGMAX_HOME``), and encrypts with the same cipher: Vault
transit when ``SIGMAX_VAULT_ADDR`` and a login are set, else the local key. Secrets are
read from a hidden prompt, or from standard input when it is not a terminal (one per
line: api key, secret, then the passphrase if asked for); never from arguments, which
other users see in ``ps`` and the shell keeps in its history.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sigmax.cli.errors import ReportingGroup
from sigmax.credentials.cipher_choice import open_cipher
from sigmax.credentials.manager import CredentialManager, SecretFields
from sigmax.credentials.model import StoredCredential
from sigmax.credentials.repository import ExchangeCredentialRepository
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.migrations import migrate
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig

T = TypeVar("T")
NO_ARGV = (
    "The api key and secret are asked for with a hidden prompt, or read from standard "
    "input (one per line), never from arguments: other users see those in `ps` and the "
    "shell keeps them in its history."
)

app = typer.Typer(
    cls=ReportingGroup,
    help="Exchange API credentials, stored encrypted: add, list, update, delete, test. " + NO_ARGV,
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
Ref = Annotated[str, typer.Argument(help="credential id or name (see `sigmax credentials list`)")]


def _run(action: Callable[[CredentialManager], Awaitable[T]]) -> T:
    async def go() -> T:
        config = PostgresConfig().model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(config) as pool:
            await migrate(pool)
            cipher = await asyncio.to_thread(open_cipher, SecretsConfig())
            return await action(CredentialManager(ExchangeCredentialRepository(pool), cipher))

    return asyncio.run(go())


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _read_secret(label: str) -> str:
    if sys.stdin.isatty():
        value: str = typer.prompt(label, hide_input=True)
        return value
    line = sys.stdin.readline()
    if not line:
        raise typer.BadParameter(f"standard input ended before the {label}")
    return line.rstrip("\r\n")


def _read_fields(with_password: bool) -> SecretFields:
    api_key = _read_secret("API key")
    secret = _read_secret("Secret")
    password = _read_secret("Passphrase") if with_password else None
    return SecretFields(api_key, secret, password)


async def _find(manager: CredentialManager, ref: str) -> StoredCredential:
    if ref.isdigit():
        return await manager.get(int(ref))
    return await manager.repo.get_by_name(ref)


def _permissions(c: StoredCredential) -> str:
    if c.permissions is None:
        return "-"
    flags = c.permissions.to_json()
    return " ".join(f"{k}={'?' if v is None else ('yes' if v else 'no')}" for k, v in flags.items())


def _show(c: StoredCredential) -> None:
    typer.echo(f"id:          {c.id}")
    typer.echo(f"name:        {c.name}")
    typer.echo(f"exchange:    {c.exchange}{' (sandbox)' if c.sandbox else ''}")
    typer.echo(f"api key:     {c.hint}")
    typer.echo(f"status:      {c.status}")
    typer.echo(f"permissions: {_permissions(c)}")
    if c.last_error:
        typer.echo(f"error:       {c.last_error}")
    typer.echo(f"encryption:  {c.cipher} ({c.key_ref})")


WithPassword = Annotated[
    bool, typer.Option("--with-password", help="also ask for a passphrase (OKX, KuCoin...)")
]


@app.command("add", help="Store a new credential (untested until `test`). " + NO_ARGV)
def add(
    name: Annotated[str, typer.Option("--name", help="unique name, e.g. binance-main")],
    exchange: Annotated[str, typer.Option("--exchange", help="ccxt exchange id, e.g. binance")],
    sandbox: Annotated[bool, typer.Option("--sandbox", help="testnet keys")] = False,
    with_password: WithPassword = False,
) -> None:
    fields = _read_fields(with_password)
    created = _run(lambda m: m.create(name, exchange, fields, sandbox=sandbox, actor=_actor()))
    _show(created)
    typer.echo(f"Test it before use: sigmax credentials test {created.name}", err=True)


@app.command("list")
def list_credentials() -> None:
    """List stored credentials (masked hints only, never the secrets)."""
    found = _run(lambda m: m.all())
    table = Table(title="Exchange credentials")
    for column in ("id", "name", "exchange", "api key", "status", "permissions", "tested"):
        table.add_column(column)
    for c in found:
        table.add_row(
            str(c.id),
            c.name,
            c.exchange + (" (sandbox)" if c.sandbox else ""),
            c.hint,
            c.status,
            _permissions(c),
            c.tested_at.isoformat(timespec="seconds") if c.tested_at else "-",
        )
    console.print(table)


@app.command("update", help="Rename, switch sandbox, or rotate the secrets. " + NO_ARGV)
def update(
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="new name")] = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="replace api key and secret (asked for)")
    ] = False,
    sandbox: Annotated[
        bool | None, typer.Option("--sandbox/--live", help="testnet or live keys")
    ] = None,
    with_password: WithPassword = False,
) -> None:
    fields = _read_fields(with_password) if rotate else None

    async def go(m: CredentialManager) -> StoredCredential:
        found = await _find(m, ref)
        return await m.update(found.id, actor=_actor(), name=name, fields=fields, sandbox=sandbox)

    _show(_run(go))


@app.command("delete")
def delete(
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a credential (its ciphertexts go with it)."""
    if not yes:
        typer.confirm(f"Delete credential {ref}?", abort=True)

    async def go(m: CredentialManager) -> StoredCredential:
        return await m.delete((await _find(m, ref)).id, actor=_actor())

    deleted = _run(go)
    typer.echo(f"deleted credential {deleted.id} ({deleted.name})")


@app.command("test")
def test_credential(
    ref: Ref,
    allow_withdraw: Annotated[
        bool,
        typer.Option(
            "--allow-withdraw",
            help="accept a key with withdrawal rights (audited); without it it is refused",
        ),
    ] = False,
) -> None:
    """Check the credential with the exchange and record its permissions."""

    async def go(m: CredentialManager) -> StoredCredential:
        found = await _find(m, ref)
        return await m.test(found.id, allow_withdraw=allow_withdraw, actor=_actor())

    tested = _run(go)
    _show(tested)
    if tested.status == "refused":
        typer.echo(
            "refused: the key may withdraw funds. Remove that right at the exchange, or "
            "accept it explicitly with --allow-withdraw.",
            err=True,
        )
    if tested.status != "ok":
        raise typer.Exit(2)
