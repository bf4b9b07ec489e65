"""Verified API keys remembered in the replica's memory, forgotten when any key is
revoked anywhere.

A request with a cached key costs a dict lookup instead of two PostgreSQL statements.
Revocation is the one change that must reach every replica fast: each replica reads
the revocation mark (how many keys are revoked, and the latest revocation time) from
PostgreSQL at most once per ``check_every_s``; when it moved, the whole cache is
dropped and every key is verified again on its next request. So a key revoked by
another replica, ``sigmax keys revoke`` or plain SQL stops within ``check_every_s``
plus one query, whoever revoked it. Revocations are rare; creating keys or using
them does not move the mark.

While a check is running, requests that need it wait for that same check (one query
per replica per interval, however many requests). A failed check drops the cache:
keys are then verified in PostgreSQL (which fails the same way if it is down).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from serve_app._private.auth import Principal

Mark = tuple[Any, ...]
log = structlog.get_logger(__name__)

REVOCATION_MARK_SQL = "SELECT count(revoked_at) AS revoked, max(revoked_at) AS last FROM api_keys"
MAX_ENTRIES = 10_000


class KeyCache:
    """sha256(key) -> principal, trusted until its deadline and while the revocation
    mark read by ``read_mark`` stays the same (checked at most every ``check_every_s``)."""

    def __init__(
        self,
        read_mark: Callable[[], Awaitable[Mark]],
        check_every_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not check_every_s > 0:
            raise ValueError(f"KeyCache: check_every_s must be > 0, got {check_every_s}")
        self._read_mark = read_mark
        self._every = check_every_s
        self._clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._mark: Mark | None = None
        self._checked_at: float | None = None
        self._check: asyncio.Future[None] | None = None
        self.generation = 0  # moves whenever the entries are dropped
        self.checks = 0  # marks read (for tests and the profile)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, digest: str) -> Principal | None:
        """The cached principal of ``digest``; None when absent, expired or dropped.

        Read :attr:`generation` right after a miss and hand it to :meth:`put`: a key
        verified while a revocation was noticed is then not cached."""
        await self._fresh()
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._entries[digest]
            return None
        return entry[0]

    def put(self, digest: str, principal: Principal, ttl_s: float, generation: int) -> None:
        """Remember a key verified in PostgreSQL after :meth:`get` returned
        ``generation``, for up to ``ttl_s`` seconds; not when the cache was dropped
        since (the verification may predate a revocation)."""
        if ttl_s <= 0 or generation != self.generation or self._mark is None:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._drop()
        self._entries[digest] = (principal, self._clock() + ttl_s)

    def forget(self, key_id: int) -> None:
        """Drop a key revoked or rotated through this replica at once (a verification of
        it still in flight is not cached either)."""
        self.generation += 1
        for digest in [d for d, (p, _) in self._entries.items() if p.key_id == key_id]:
            del self._entries[digest]

    def clear(self) -> None:
        self._drop()

    def _drop(self) -> None:
        self._entries.clear()
        self.generation += 1

    async def _fresh(self) -> None:
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self._every:
            return
        if self._check is None:
            self._check = asyncio.ensure_future(self._run_check())
        check = self._check
        await asyncio.shield(check)

    async def _run_check(self) -> None:
        started = self._clock()
        try:
            mark = tuple(await self._read_mark())
        except Exception as exc:  # PostgreSQL away: trust nothing cached
            log.warning("api key revocation check failed", error=f"{type(exc).__name__}: {exc}")
            self._drop()
            self._mark, self._checked_at = None, None
            return
        finally:
            self._check = None
        self.checks += 1
        if mark != self._mark:
            self._drop()
            self._mark = mark
        self._checked_at = started  # the entries are valid as of when the read began
