"""Domain errors as HTTP answers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from serve_app.exceptions import Conflict, NotFound, Unprocessable
from sigmax.execution.errors import IllegalTransitionError, OrderConflictError, UnknownOrderError
from sigmax.risk.state import RiskStateError


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors (also as raised through Ray) → clear HTTP answers."""
    try:
        yield
    except UnknownOrderError as exc:
        raise NotFound(f"order not found: {exc}") from None
    except (OrderConflictError, IllegalTransitionError, RiskStateError) as exc:
        raise Conflict(_cause(exc)) from None
    except ValueError as exc:
        raise Unprocessable(_cause(exc)) from None


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    return str(cause if cause is not None else exc).strip()
