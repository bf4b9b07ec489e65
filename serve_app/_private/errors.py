"""Every error the API answers, in one place: its status code and the JSON body
``{"detail", "code", "request_id"}``.

* :class:`~serve_app.exceptions.APIError`: its own status and code.
* A :class:`~sigmax.errors.SigmaxError`: the status of its category (below) and its
  message, also when an actor raised it (Ray's wrapping is taken off first, so a
  remote traceback never reaches the answer).
* Request validation: 422 with the field errors (never the submitted values).
* Anything else is a bug or an unexpected failure: 500 ``internal error`` with the
  request id and nothing else; it is logged once, with its traceback and request id.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray.exceptions import RayTaskError
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve_app.exceptions import APIError, PayloadTooLarge
from sigmax.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RiskRefusedError,
    SigmaxError,
    UnavailableError,
    category_of,
)

log = structlog.get_logger(__name__)

# category -> (status, code); the codes match the APIError of the same status
CATEGORY_ANSWERS: dict[type[SigmaxError], tuple[int, str]] = {
    InvalidInputError: (422, "unprocessable"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    UnavailableError: (503, "unavailable"),
    RiskRefusedError: (403, "risk_refused"),
}
INTERNAL = "internal error"


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    status: int
    code: str
    detail: Any
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, request_id: str | None) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, "request_id": request_id}


def cause_of(error: BaseException) -> BaseException:
    """The exception an actor raised, out of Ray's wrapping (nested calls wrap again)."""
    while isinstance(error, RayTaskError) and error.cause is not None:
        error = error.cause
    return error


def expected_answer(error: BaseException) -> ErrorAnswer | None:
    """The answer to an API error or a categorised SIGMAX error; None for anything else."""
    cause = cause_of(error)
    if isinstance(cause, APIError):
        return ErrorAnswer(cause.status_code, cause.code, cause.message, cause.headers)
    category = category_of(cause)
    if category is None:
        return None
    status, code = CATEGORY_ANSWERS[category]
    return ErrorAnswer(status, code, str(cause).strip())


def answer_for(error: BaseException, request_id: str | None) -> ErrorAnswer:
    """How the API answers ``error``; an unexpected one is logged here, once."""
    answer = expected_answer(error)
    if answer is not None:
        return answer
    cause = cause_of(error)
    log.error(
        "unhandled error",
        request_id=request_id,
        error=f"{type(cause).__name__}: {cause}",
        # the traceback text only: no locals (they may hold a key)
        traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )
    return ErrorAnswer(500, "internal_error", INTERNAL)


def request_id_of(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    rid = state.get("request_id")
    return str(rid) if rid else None


def install(app: FastAPI) -> None:
    """Register the API's exception handlers on ``app`` (once, by ``create_app``).

    Exceptions no handler takes (a bug) reach the middleware, which answers them with
    :func:`answer_for` too: Starlette's catch-all would re-raise them after answering
    and so log them a second time."""

    async def known(request: Request, exc: Exception) -> JSONResponse:
        return _json(request, answer_for(exc, request_id_of(request)))

    for error in (APIError, SigmaxError, RayTaskError):
        app.add_exception_handler(error, known)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def _json(request: Request, answer: ErrorAnswer) -> JSONResponse:
    body = answer.body(request_id_of(request))
    return JSONResponse(body, status_code=answer.status, headers=answer.headers or None)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # field errors without echoing the submitted values (which may be secrets)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return _json(request, ErrorAnswer(422, "invalid_request", detail))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.__cause__ is not None and type(exc.__cause__).__name__ == "_BodyTooLarge":
        limit = request.app.state.backend.config.max_body_bytes
        detail = f"request body too large: limit {limit} bytes"
        return _json(request, ErrorAnswer(413, PayloadTooLarge.code, detail))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    return _json(request, ErrorAnswer(exc.status_code, code, exc.detail, headers))
