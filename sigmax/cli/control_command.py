"""``sigmax control``: start, pause, stop or panic the session the API serves.

Talks to the HTTP API (``POST /api/v1/control/...``) at ``--url`` or ``SIGMAX_API_URL``
with the key in ``SIGMAX_API_KEY`` (read from the environment only: arguments show in
``ps``). start, pause and stop need a ``trade`` key; panic an ``admin`` key.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from sigmax.client import SigmaxAPIError, SigmaxClient

app = typer.Typer(
    help="Start, pause, stop or panic the served session through the API "
    "(SIGMAX_API_URL, SIGMAX_API_KEY).",
    no_args_is_help=True,
    add_completion=False,
)
Url = Annotated[str | None, typer.Option(help="API base URL (default SIGMAX_API_URL)")]
Reason = Annotated[str, typer.Option(help="why; goes to the audit trail")]


def make_client(url: str | None) -> SigmaxClient:
    """The API client the commands use (the key comes from SIGMAX_API_KEY)."""
    return SigmaxClient(url)


def _act(url: str | None, action: Any, **body: Any) -> None:
    try:
        with make_client(url) as api:
            result = api.control(action, **body)
    except SigmaxAPIError as exc:
        typer.echo(f"error: {action} refused: HTTP {exc.status_code}: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except httpx.TransportError as exc:  # connection refused, DNS, timeout
        typer.echo(f"error: cannot reach the API: {exc}", err=True)
        raise typer.Exit(1) from exc
    _show(result)


def _show(result: dict[str, Any]) -> None:
    cause = f" ({result['cause']})" if result.get("cause") else ""
    typer.echo(f"{result['action']}: state {result['state']}{cause}")
    if result.get("reason"):
        typer.echo(f"reason: {result['reason']}")
    for order in result.get("cancelled", []):
        typer.echo(f"cancelled {order['client_order_id']}")
    for order in result.get("sent", []):
        typer.echo(
            f"sent {order['client_order_id']}: {order['side']} {order['qty']} {order['symbol']}"
        )
    for refused in result.get("refused", []):
        typer.echo(f"NOT closed {refused['symbol']} {refused['qty']}: {refused['reason']}")
    for note in result.get("notes", []):
        typer.echo(f"note: {note}")


@app.command("start")
def start(
    url: Url = None,
    force: Annotated[bool, typer.Option(help="resume although a cause still holds")] = False,
) -> None:
    """Resume trading of the running session (also after stop)."""
    _act(url, "start", force=force)


@app.command("pause")
def pause(reason: Reason, url: Url = None) -> None:
    """Pause trading: only orders that shrink a position pass."""
    _act(url, "pause", reason=reason)


@app.command("stop")
def stop(url: Url = None, reason: Reason = "operator request") -> None:
    """Stop: no new decisions, open orders cancelled, positions kept."""
    _act(url, "stop", reason=reason)


@app.command("panic")
def panic(
    url: Url = None,
    reason: Reason = "operator panic",
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Cancel every order, close every position at market, pause (admin key)."""
    if not yes:
        typer.confirm("Cancel every order and close every position at market?", abort=True)
    _act(url, "panic", reason=reason)
