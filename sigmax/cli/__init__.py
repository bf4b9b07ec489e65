"""The ``sigmax`` command."""

from __future__ import annotations

import typer

from sigmax.cli import (
    backtest_command,
    credentials_command,
    data_commands,
    db_commands,
    keys_command,
    paper_command,
)
from sigmax.cli.control_command import app as control_app
from sigmax.cli.errors import ReportingGroup
from sigmax.cli.optimize_command import optimize
from sigmax.cli.proposals_command import app as proposals_app
from sigmax.cli.session_command import app as session_app
from sigmax.cli.train_command import train
from sigmax.cli.tune_command import tune

app = typer.Typer(
    name="sigmax",
    cls=ReportingGroup,
    help="SIGMAX: autonomous multi-agent crypto trading (paper by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(
    data_commands.app, name="data", help="Load, validate, resample and download market data."
)
app.add_typer(db_commands.app, name="db", help="Database migrations and status.")
app.add_typer(keys_command.app, name="keys", help="API keys: create, list, revoke, rotate.")
app.add_typer(
    control_app, name="control", help="Start, pause, stop or panic the session (via the API)."
)
app.add_typer(
    credentials_command.app,
    name="credentials",
    help="Exchange credentials, stored encrypted: add, list, update, delete, test.",
)
app.add_typer(
    proposals_app, name="proposals", help="Trade proposals (approval mode): list, approve, reject."
)
app.add_typer(
    session_app, name="session", help="Paper sessions on a Ray cluster: list, status, stop."
)
app.command("backtest")(backtest_command.backtest)
app.command("paper")(paper_command.paper)
app.command("up")(paper_command.up)
app.command("optimize")(optimize)
app.command("train")(train)
app.command("tune")(tune)


def main() -> None:
    app()
