"""The audit trail: append-only, sha256 hash-chained records written to a pluggable sink."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sigmax.errors import InvalidInputError
from sigmax.lazy import LazySequence
from sigmax.model import utc_now
from sigmax.risk.audit_record import GENESIS_HASH, AuditRecord, record_hash
from sigmax.risk.audit_sinks import AuditSink, InMemoryAuditSink
from sigmax.serialize import canonical_json


class AuditIntegrityError(InvalidInputError):
    """The chain is broken: a record was changed, removed, inserted or reordered."""


class AuditTrail:
    """Append-only log of risk checks, decisions, state and limit changes.

    Each record carries the sha256 of its content plus the previous record's hash, so
    changing any record breaks :meth:`verify` from that record on. A trail opened on a
    sink that already holds records continues that chain.
    """

    def __init__(self, sink: AuditSink | None = None, *, deferred: bool = False) -> None:
        self.sink: AuditSink = sink if sink is not None else InMemoryAuditSink()
        if deferred and not isinstance(self.sink, InMemoryAuditSink):
            raise ValueError("audit: only an in-memory trail may defer its hashing")
        last: AuditRecord | None = None
        for last in self.sink.records():  # noqa: B007 - only the last one is wanted
            pass
        self._next_seq = 0 if last is None else last.seq + 1
        self._head = GENESIS_HASH if last is None else last.hash
        self._deferred = deferred
        # kind, and either the time and the payload (or what builds it), or None and
        # what builds both the payload and its time
        self._pending: list[tuple[str, datetime | None, Any]] = []

    @property
    def head_hash(self) -> str:
        """Hash of the newest record (the genesis hash when empty)."""
        self._flush()
        return self._head

    def __len__(self) -> int:
        return self._next_seq + len(self._pending)

    def note(
        self,
        kind: str,
        payload: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
        ts: datetime | None = None,
    ) -> None:
        """Append a record whose ``payload`` (or the function that builds it from values
        that never change) was made for the trail alone. A deferred trail (a backtest's:
        in memory, read once at the end if at all) builds, chains and hashes it when the
        trail is next read, so a run that never reads its trail does not pay for it; any
        other trail appends it now."""
        if not self._deferred:
            self.append(kind, payload() if callable(payload) else payload, ts)
            return
        if not kind:
            raise ValueError("audit: kind must not be empty")
        self._pending.append((kind, ts if ts is not None else utc_now(), payload))

    def note_later(
        self, kind: str, build: Callable[[], tuple[Mapping[str, Any], datetime]]
    ) -> None:
        """As :meth:`note`, for a record whose time is also only known once it is built:
        ``build`` returns the payload and the time, from values that never change."""
        if not self._deferred:
            payload, ts = build()
            self.append(kind, payload, ts)
            return
        if not kind:
            raise ValueError("audit: kind must not be empty")
        self._pending.append((kind, None, build))

    def append(
        self, kind: str, payload: Mapping[str, Any], ts: datetime | None = None
    ) -> AuditRecord:
        """Write one record; ``payload`` values are converted by :func:`canonical_json`."""
        if not kind:
            raise ValueError("audit: kind must not be empty")
        self._flush()
        return self._write(kind, (ts if ts is not None else utc_now()).isoformat(), payload)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for kind, stamp, payload in pending:
            if stamp is None:
                body, ts = payload()
                self._write(kind, ts.isoformat(), body)
            else:
                self._write(kind, stamp.isoformat(), payload() if callable(payload) else payload)

    def _write(self, kind: str, stamp: str, payload: Mapping[str, Any]) -> AuditRecord:
        payload_json = canonical_json(payload, where=f"audit {kind} payload")
        digest = record_hash(self._next_seq, stamp, kind, payload_json, self._head)
        body = json.loads(payload_json)
        record = AuditRecord(self._next_seq, stamp, kind, body, self._head, digest)
        self.sink.write(record)
        self._next_seq += 1
        self._head = digest
        return record

    def records(self, kind: str | None = None) -> list[AuditRecord]:
        """Every record in the sink, optionally only those of one kind."""
        self._flush()
        return [r for r in self.sink.records() if kind is None or r.kind == kind]

    def view(self) -> LazySequence[AuditRecord]:
        """The records so far, read (and, on a deferred trail, hashed) on first use."""
        count = len(self)
        return LazySequence(lambda: self.records()[:count], count)

    def verify(self) -> int:
        """Check the whole chain in the sink; returns the record count or raises
        :class:`AuditIntegrityError` naming the first bad record."""
        self._flush()
        return verify_chain(self.sink.records())

    def close(self) -> None:
        self._flush()
        self.sink.close()


def verify_chain(records: Iterable[AuditRecord]) -> int:
    """Verify sequence numbers, back-links and hashes of ``records`` from genesis."""
    prev, count = GENESIS_HASH, 0
    for count, record in enumerate(records, start=1):
        expected_seq = count - 1
        if record.seq != expected_seq:
            raise AuditIntegrityError(
                f"audit record {expected_seq}: found seq {record.seq} (removed or reordered)"
            )
        if record.prev_hash != prev:
            raise AuditIntegrityError(f"audit record {record.seq}: prev_hash does not link")
        if record.expected_hash() != record.hash:
            raise AuditIntegrityError(f"audit record {record.seq}: content does not match hash")
        prev = record.hash
    return count
