"""The API's errors: each knows its status code; all answer the same JSON shape.

Body: ``{"detail": "<message>", "code": "<machine code>", "request_id": "<id>"}``.
"""

from __future__ import annotations


class APIError(Exception):
    """An error answered to the client as ``status_code`` with a clear message."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(APIError):
    status_code = 400
    code = "bad_request"


class UnsupportedVersion(BadRequest):
    code = "unsupported_version"


class Unauthorized(APIError):
    """Missing, unknown, revoked or expired key: one message for all, so the answer does
    not tell whether a key exists."""

    status_code = 401
    code = "unauthorized"
    MESSAGE = "invalid or missing API key (send Authorization: Bearer <key>)"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, {"WWW-Authenticate": "Bearer"})


class Forbidden(APIError):
    status_code = 403
    code = "forbidden"


class NotFound(APIError):
    status_code = 404
    code = "not_found"


class Conflict(APIError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(APIError):
    status_code = 413
    code = "payload_too_large"


class HeadersTooLarge(APIError):
    status_code = 431
    code = "headers_too_large"


class Unprocessable(APIError):
    status_code = 422
    code = "unprocessable"


class RateLimited(APIError):
    status_code = 429
    code = "rate_limited"


class NotImplementedYet(APIError):
    status_code = 501
    code = "not_implemented"


class ServiceUnavailable(APIError):
    status_code = 503
    code = "unavailable"


class NoSession(ServiceUnavailable):
    code = "no_session"

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"no trading session: start `sigmax up` (the API serves session id "
            f"{session_id!r}; set SIGMAX_API_SESSION_ID to serve another)"
        )
