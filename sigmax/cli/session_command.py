"""``sigmax session list|status|stop``: the paper sessions running on a Ray cluster.

Each session runs in its detached actor ``session:<id>`` (namespace ``sigmax``);
these commands join the cluster, find it by name, and ask it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sigmax.cli.paper_command import _init_ray

console = Console()
app = typer.Typer(no_args_is_help=True)

Address = Annotated[
    str, typer.Option(help="the Ray cluster to join (auto: RAY_ADDRESS or the local one)")
]
SessionId = Annotated[str, typer.Option(help="the session's id")]


def _session(session_id: str) -> Any:
    from actors import options
    from actors.registry import SessionNotRunning, find

    try:
        return find(options.SESSION, session_id)
    except SessionNotRunning:
        console.print(f"[red]no session {session_id!r} runs on this cluster[/]")
        raise typer.Exit(code=1) from None


@app.command("list")
def list_sessions(address: Address = "auto") -> None:
    """Every session actor of the cluster, with its state."""
    ray = _init_ray(address, None, None)
    from actors import options
    from actors.session import session_ids

    table = Table(title="sessions")
    for column in ("session", "state", "venue", "bars", "last bar", "equity"):
        table.add_column(column)
    for session_id in session_ids():
        status = ray.get(_session(session_id).status.remote(), timeout=options.CALL_TIMEOUT_S)
        equity = status["equity"]
        table.add_row(
            session_id,
            status["state"],
            venue_label(status.get("venue")),
            str(status["bars"]),
            status["last_bar"] or "-",
            "-" if equity is None else f"{equity:,.2f}",
        )
    console.print(table)


def venue_label(venue: dict[str, Any] | None) -> str:
    """``paper``, ``dry-run``, ``ccxt:binance (testnet)``, ``ccxt:binance (LIVE)``; ``-``
    before the session's actors describe their venue."""
    if not venue:
        return "-"
    kind = str(venue.get("kind", "?"))
    if venue.get("live"):
        return f"{kind} (LIVE)"
    return f"{kind} (testnet)" if venue.get("testnet") else kind


@app.command("status")
def status(session_id: SessionId, address: Address = "auto") -> None:
    """The session's state, venue, bars traded, last bar and equity (JSON)."""
    ray = _init_ray(address, None, None)
    from actors import options

    found = ray.get(_session(session_id).status.remote(), timeout=options.CALL_TIMEOUT_S)
    typer.echo(json.dumps(found))


@app.command("stop")
def stop(session_id: SessionId, address: Address = "auto") -> None:
    """Stop the session after the bar in progress and end its actors (state kept)."""
    _init_ray(address, None, None)
    from actors.session import end_session

    final = end_session(_session(session_id))
    typer.echo(json.dumps(final))
