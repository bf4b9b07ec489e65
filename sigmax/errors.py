"""SIGMAX's error hierarchy: one root and the few categories a caller acts on.

Every error SIGMAX raises on purpose derives from :class:`SigmaxError` through exactly
one category. A caller (the CLI, the API, an actor) decides what to do from the
category alone: the API maps each category to one HTTP status in one place
(``serve_app/_private/errors.py``), the CLI to an exit code. Anything that is not a
``SigmaxError`` is a bug or an unexpected failure: the API answers 500 with a request
id and no internals, and logs it once.

The categories keep the built-in base a caller may already catch (``ValueError`` for
invalid input, ``LookupError`` for not found, ``ConnectionError`` for unavailable), so
code that caught those keeps working.

A package may group its errors under a family base (``ExecutionError``,
``StorageError``...) whose members are in different categories; such a base derives
from :class:`SigmaxError` alone and is never raised itself. ``tests/core/test_errors.py``
checks all of this for every exception class in ``sigmax/`` and ``actors/``.
"""

from __future__ import annotations


class SigmaxError(Exception):
    """Root of every error SIGMAX raises on purpose."""


class InvalidInputError(SigmaxError, ValueError):
    """The caller's input is wrong: a bad option, value, file or request (HTTP 422)."""


class NotFoundError(SigmaxError, LookupError):
    """What the caller named does not exist (HTTP 404)."""


class ConflictError(SigmaxError):
    """The request clashes with the current state: a duplicate id, an illegal
    transition, something already done (HTTP 409)."""


class UnavailableError(SigmaxError, ConnectionError):
    """A dependency (database, exchange, secrets store, actor) cannot answer now;
    the same request may succeed later (HTTP 503)."""


class RiskRefusedError(SigmaxError):
    """The risk engine refused the action: a limit, a breaker or the kill switch
    (HTTP 403). An order risk rejects is a verdict (``RiskVerdict.approved`` false), not
    an error; this is for an action that must fail outright when risk says no."""


CATEGORIES: tuple[type[SigmaxError], ...] = (
    InvalidInputError,
    NotFoundError,
    ConflictError,
    UnavailableError,
    RiskRefusedError,
)


def category_of(error: BaseException) -> type[SigmaxError] | None:
    """The category an error belongs to, or None when it is not a SIGMAX error."""
    for category in CATEGORIES:
        if isinstance(error, category):
            return category
    return None
