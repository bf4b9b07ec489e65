"""Bearer API keys: who is calling (a :class:`Principal`) and what they may do.

Keys live hashed in PostgreSQL (``ApiKeyRepository``). Scopes nest: ``admin`` may do
what ``trade`` may, and ``trade`` what ``read`` may. Unknown, revoked and expired keys
all fail the same way (:class:`~serve_app.exceptions.Unauthorized`), so an answer
never tells whether a key exists. Keys are never logged: only the key id is bound to
the request's log context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from serve_app.exceptions import Forbidden, Unauthorized
from sigmax.storage.repos.keys import ApiKeyRepository

SCOPES = ("read", "trade", "admin")
_IMPLIES = {"read": {"read"}, "trade": {"read", "trade"}, "admin": {"read", "trade", "admin"}}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the API key's id and its scopes (never the key)."""

    key_id: int
    scopes: frozenset[str]
    name: str = ""

    def allows(self, scope: str) -> bool:
        return any(scope in _IMPLIES.get(s, set()) for s in self.scopes)

    def require(self, scope: str) -> None:
        if not self.allows(scope):
            raise Forbidden(f"this API key lacks the {scope!r} scope")


Authenticate = Callable[[str], Awaitable[Principal]]


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None if absent/malformed."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


async def authenticate_with(keys: ApiKeyRepository, token: str) -> Principal:
    """The principal of a valid, active key; Unauthorized otherwise (records last use)."""
    key = await keys.verify(token)
    if key is None:
        raise Unauthorized()
    structlog.contextvars.bind_contextvars(key_id=key.id)
    return Principal(key.id, frozenset(key.scopes), key.name)


def authenticator(keys: Callable[[], Awaitable[ApiKeyRepository]]) -> Authenticate:
    """An ``authenticate(token) -> Principal`` coroutine over a lazily opened repository
    (uncached; the HTTP routes use ``Backend.authenticate``)."""

    async def authenticate(token: str) -> Principal:
        return await authenticate_with(await keys(), token)

    return authenticate
