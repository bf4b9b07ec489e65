"""``sigmax proposals``: list, show, approve and reject trade proposals (approval mode).

Talks to the running API (``sigmax up``) with an API key: ``--url`` / ``SIGMAX_API_URL``
(default http://127.0.0.1:8000) and ``--key`` / ``SIGMAX_API_KEY`` (``read`` scope to
list and show, ``trade`` to approve and reject).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import httpx
import typer

from sigmax.client import DEFAULT_URL, SigmaxAPIError, SigmaxClient

T = TypeVar("T")
STATUSES = ("pending", "approved", "executed", "rejected", "expired", "failed")

app = typer.Typer(
    help="Trade proposals of approval mode: list, show, approve, reject.",
    no_args_is_help=True,
    add_completion=False,
)

Url = Annotated[str, typer.Option("--url", envvar="SIGMAX_API_URL", help="the SIGMAX API")]
Key = Annotated[
    str | None,
    typer.Option("--key", envvar="SIGMAX_API_KEY", help="API key (sigmax keys create)"),
]
Reason = Annotated[str | None, typer.Option("--reason", help="why (kept in the audit log)")]
AsJson = Annotated[bool, typer.Option("--json", help="print the API's JSON")]


def make_client(url: str, key: str) -> SigmaxClient:
    return SigmaxClient(url, key)


def _call(url: str, key: str | None, action: Callable[[SigmaxClient], T]) -> T:
    if not key:
        typer.echo("error: no API key: pass --key or set SIGMAX_API_KEY", err=True)
        raise typer.Exit(2)
    try:
        with make_client(url, key) as api:
            return action(api)
    except SigmaxAPIError as exc:
        typer.echo(f"error: HTTP {exc.status_code} {exc.code}: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach the API at {url}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _summary(p: dict[str, Any]) -> str:
    order = p["order"]
    return f"{order['side']} {order['qty']} {p['symbol']} @ ~{p['reference_price']}"


@app.command("list")
def list_proposals(
    status: Annotated[
        str | None, typer.Option("--status", help=f"only one of: {', '.join(STATUSES)}")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    url: Url = DEFAULT_URL,
    key: Key = None,
    as_json: AsJson = False,
) -> None:
    """The proposals of the served session, oldest first."""
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"--status must be one of {', '.join(STATUSES)}")
    found = _call(url, key, lambda api: api.proposals(status=status, limit=limit))
    if as_json:
        _print_json(found)
        return
    for p in found:  # one line each, ids whole (a table would cut them on narrow screens)
        decided = f" by {p['decided_by']}" if p["decided_by"] else ""
        typer.echo(f"{p['id']}  {p['status']}{decided}  {_summary(p)}  expires {p['expires_at']}")
    if not found:
        typer.echo("no proposals")


@app.command("show")
def show(proposal_id: str, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """One proposal with its decision (every agent's signal), order and result (JSON)."""
    _print_json(_call(url, key, lambda api: api.proposal(proposal_id)))


@app.command("approve")
def approve(
    proposal_id: str, reason: Reason = None, url: Url = DEFAULT_URL, key: Key = None
) -> None:
    """Approve: risk re-checks the order at the current price, then it is sent once."""
    answer = _call(url, key, lambda api: api.approve_proposal(proposal_id, reason))
    p = answer["proposal"]
    if p["status"] == "failed":
        typer.echo(f"{p['id']}: failed: {p['reason']}", err=True)
        raise typer.Exit(1)
    note = "" if answer["executed_now"] else " (already executed earlier; nothing sent)"
    typer.echo(f"{p['id']}: {p['status']}: {_summary(p)}{note}")


@app.command("reject")
def reject(
    proposal_id: str, reason: Reason = None, url: Url = DEFAULT_URL, key: Key = None
) -> None:
    """Reject a pending proposal; it will never be executed."""
    p = _call(url, key, lambda api: api.reject_proposal(proposal_id, reason))
    typer.echo(f"{p['id']}: {p['status']}: {p['reason']}")
