"""Running one ``sigmax`` CLI command as a Ray job entry point (``python -m sigmax.jobs.X``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from sigmax.cli.errors import REPORTED, report


def connect() -> bool:
    """Join the job's cluster when ``RAY_ADDRESS`` is set; True when this call connected."""
    if not os.environ.get("RAY_ADDRESS"):
        return False
    import ray  # only here: importing sigmax never imports Ray

    if ray.is_initialized():
        return False
    ray.init(address="auto", log_to_driver=False)
    return True


def run_command(command: Callable[..., Any], prog: str, argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process arguments) with the command's own typer
    options and run it on the job's cluster; returns the exit code (a SIGMAX error is
    reported in one line, its code by category, as by the ``sigmax`` command)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(command)
    connected = connect()
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name=prog)
    except SystemExit as exc:  # typer exits even on success; the code is the result
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except REPORTED as exc:
        return report(exc).exit_code
    finally:
        if connected:
            import ray

            ray.shutdown()
    return 0
