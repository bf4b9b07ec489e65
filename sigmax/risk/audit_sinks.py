"""Where audit records go: the sink protocol, an in-memory sink and a JSON-lines file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from sigmax.risk.audit_record import AuditRecord


@runtime_checkable
class AuditSink(Protocol):
    """Append-only store of audit records (memory, JSONL file, later PostgreSQL)."""

    def write(self, record: AuditRecord) -> None: ...

    def records(self) -> Iterator[AuditRecord]: ...

    def close(self) -> None: ...


class InMemoryAuditSink:
    """Keeps every record in a list; the default sink (tests, backtests)."""

    def __init__(self) -> None:
        self._records: list[AuditRecord] = []

    def write(self, record: AuditRecord) -> None:
        self._records.append(record)

    def records(self) -> Iterator[AuditRecord]:
        return iter(self._records)

    def close(self) -> None:
        return None


class JsonlAuditSink:
    """Appends one JSON object per line to ``path``; ``fsync=True`` syncs every record."""

    def __init__(self, path: str | Path, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, record: AuditRecord) -> None:
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def records(self) -> Iterator[AuditRecord]:
        return read_jsonl(self.path)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def read_jsonl(path: str | Path) -> Iterator[AuditRecord]:
    """Read records back from a JSON-lines audit file; a bad line names its number."""
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield AuditRecord.from_json(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from exc
