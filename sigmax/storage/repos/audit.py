"""The append-only audit log in PostgreSQL, and an AuditSink that writes to it.

:class:`PostgresAuditSink` keeps the synchronous ``AuditSink`` contract of
``sigmax.risk.audit_sinks``: ``write`` returns only after the record is committed
(or raises), like the JSONL sink with fsync. It does so with its own event loop on a
daemon thread and a one-connection pool, so it can be called from plain code and from
inside another event loop alike. A buffered sink was rejected: an audit record that
is acknowledged but lost in a crash is exactly what an audit trail must not allow.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from sigmax.risk.audit import verify_chain
from sigmax.risk.audit_record import AuditRecord
from sigmax.storage.postgres import (
    Connection,
    DatabaseUnavailableError,
    PostgresPool,
    StoreClosedError,
)
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repos._base import Repository

T = TypeVar("T")

_INSERT = """
INSERT INTO audit_log (stream, seq, ts, kind, payload, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""


class AuditRepository(Repository):
    """Audit records per stream; the table refuses updates, deletes and broken links."""

    async def append(
        self, record: AuditRecord, stream: str = "risk", conn: Connection | None = None
    ) -> None:
        if record.expected_hash() != record.hash:
            raise ValueError(f"audit record {record.seq}: hash does not match its content")
        async with self._conn(conn) as c:
            await c.execute(
                _INSERT,
                stream,
                record.seq,
                record.ts,
                record.kind,
                record.payload,
                record.prev_hash,
                record.hash,
            )

    async def append_many(
        self, records: Iterable[AuditRecord], stream: str = "risk", conn: Connection | None = None
    ) -> None:
        rows = []
        for r in records:
            if r.expected_hash() != r.hash:
                raise ValueError(f"audit record {r.seq}: hash does not match its content")
            rows.append((stream, r.seq, r.ts, r.kind, r.payload, r.prev_hash, r.hash))
        async with self._tx(conn) as c:
            await c.executemany(_INSERT, rows)

    async def records(self, stream: str = "risk") -> list[AuditRecord]:
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT seq, ts, kind, payload, prev_hash, hash FROM audit_log"
                " WHERE stream = $1 ORDER BY seq",
                stream,
            )
        return [
            AuditRecord(r["seq"], r["ts"], r["kind"], r["payload"], r["prev_hash"], r["hash"])
            for r in rows
        ]

    async def latest(
        self, stream: str, kind: str, action: str | None = None, limit: int = 20
    ) -> list[AuditRecord]:
        """The newest records of ``kind`` (whose payload's ``action`` is ``action``, when
        given), newest first."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT seq, ts, kind, payload, prev_hash, hash FROM audit_log"
                " WHERE stream = $1 AND kind = $2"
                " AND ($3::text IS NULL OR payload->>'action' = $3::text)"
                " ORDER BY seq DESC LIMIT $4",
                stream,
                kind,
                action,
                limit,
            )
        return [
            AuditRecord(r["seq"], r["ts"], r["kind"], r["payload"], r["prev_hash"], r["hash"])
            for r in rows
        ]

    async def streams(self) -> dict[str, int]:
        """Every stream with its record count, by name."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT stream, count(*) AS n FROM audit_log GROUP BY stream ORDER BY stream"
            )
        return {r["stream"]: int(r["n"]) for r in rows}

    async def verify(self, stream: str = "risk") -> int:
        """Re-hash the stream's chain; returns its length or raises AuditIntegrityError."""
        return verify_chain(await self.records(stream))


class PostgresAuditSink:
    """A synchronous, durable AuditSink over PostgreSQL (one chain per ``stream``)."""

    def __init__(
        self, config: PostgresConfig | None = None, stream: str = "risk", timeout_s: float = 30.0
    ) -> None:
        config = config if config is not None else PostgresConfig()
        self.stream = stream
        self._timeout = timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"sigmax-audit-{stream}", daemon=True
        )
        self._thread.start()
        self._pool = PostgresPool(config.model_copy(update={"pool_size": 1, "max_overflow": 0}))
        self._repo = AuditRepository(self._pool)
        self._closed = False

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise StoreClosedError(f"audit sink {self.stream}: closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self._timeout)
        except TimeoutError as exc:
            future.cancel()
            raise DatabaseUnavailableError(
                f"audit sink {self.stream}: no answer from PostgreSQL within {self._timeout}s;"
                " the record may or may not be stored (records() tells)"
            ) from exc

    def write(self, record: AuditRecord) -> None:
        """Store one record; returns once it is committed, raises otherwise."""
        self._call(self._repo.append(record, self.stream))

    def records(self) -> Iterator[AuditRecord]:
        return iter(self._call(self._repo.records(self.stream)))

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._call(self._pool.close())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=self._timeout)
            self._loop.close()
