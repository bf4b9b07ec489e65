"""How every ``sigmax`` command reports an error: one line on stderr, an exit code by category.

A command lets a :class:`~sigmax.errors.SigmaxError` (or a pydantic ``ValidationError``
of its options or settings) propagate; :class:`ReportingGroup`, the click group of the
``sigmax`` app and of its sub-apps, turns it into ``error: <message>`` and the exit code
of its category: 2 for invalid input (bad options, input or data), 1 for anything else
the command could not do (not found, conflict, unavailable, refused by risk). Any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from sigmax.errors import InvalidInputError, SigmaxError

EXIT_FAILED = 1  # the command could not do what was asked
EXIT_INVALID = 2  # bad options, input or data (click's own usage errors exit 2 too)

REPORTED: tuple[type[Exception], ...] = (SigmaxError, ValidationError)


def exit_code(error: BaseException) -> int:
    """The exit code for ``error``: EXIT_INVALID for invalid input, else EXIT_FAILED."""
    invalid = isinstance(error, InvalidInputError | ValidationError)
    return EXIT_INVALID if invalid else EXIT_FAILED


def one_line(error: BaseException) -> str:
    """``error: <message>``, the message's lines joined, so a report is one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "error: " + ("; ".join(lines) or type(error).__name__)


def report(error: BaseException) -> typer.Exit:
    """Print ``error`` as one line on stderr; the Exit to raise with its code."""
    typer.echo(one_line(error), err=True)
    return typer.Exit(exit_code(error))


class ReportingGroup(TyperGroup):
    """A Typer group whose commands' SIGMAX errors are reported by :func:`report`."""

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored) click Context
        try:
            return super().invoke(ctx)
        except REPORTED as exc:
            raise report(exc) from None
