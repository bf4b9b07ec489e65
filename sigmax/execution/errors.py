"""The errors the execution package raises; all derive from :class:`ExecutionError`."""

from __future__ import annotations

from sigmax.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    SigmaxError,
    UnavailableError,
)


class ExecutionError(SigmaxError):
    """Base class of every execution error; each subclass is in one category."""


class UnknownOrderError(ExecutionError, NotFoundError, KeyError):
    """No order is known under the given client order id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown order"


class OrderConflictError(ExecutionError, ConflictError):
    """A client order id was reused for a different request."""


class IllegalTransitionError(ExecutionError, ConflictError):
    """An order was asked to move between two states the state machine does not link."""


class InvalidFillError(ExecutionError, ConflictError):
    """A fill does not fit its order: unknown order, wrong side or symbol, overfill, duplicate."""


class VenueError(ExecutionError, UnavailableError):
    """The exchange answered with an error that is not an order rejection."""


class VenueNetworkError(VenueError):
    """The exchange could not be reached, timed out, or is rate limiting us."""


class VenueAuthError(VenueError):
    """The exchange refused our credentials or permissions."""


class CredentialsError(ExecutionError, NotFoundError):
    """No usable exchange credentials: missing, or malformed so they cannot be used."""


class OverfillError(InvalidFillError):
    """A fill would take an order's filled quantity above its ordered quantity."""


class UnacknowledgedOrderError(ExecutionError, ConflictError):
    """The exchange has not acknowledged the order yet: it cannot be cancelled before
    a reconcile (submitting it again) finds it."""


class VenueRateLimitError(VenueNetworkError):
    """The exchange is rate limiting us (HTTP 429 / 418): back off before the next call."""


class VenueRefusedError(ExecutionError, InvalidInputError):
    """A venue cannot be built as configured: live without the explicit switch, missing
    credentials, keys that may withdraw; the message names what is missing."""


class VenueMismatchError(ExecutionError, ConflictError):
    """The venue's account differs from the stored books in a way booking the fills made
    while SIGMAX was down does not explain; ``problems`` lists each difference."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems
