"""One hash-chained audit record: its fields and the hash that chains it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sigmax.serialize import canonical_json

GENESIS_HASH = "0" * 64


def record_hash(seq: int, ts: str, kind: str, payload_json: str, prev_hash: str) -> str:
    """sha256 over a record's header, its predecessor's hash and its canonical payload."""
    header = json.dumps([seq, ts, kind, prev_hash], separators=(",", ":"))
    return hashlib.sha256(f"{header}\n{payload_json}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An append-only audit entry; ``hash`` covers every field and ``prev_hash``."""

    seq: int
    ts: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        payload_json = canonical_json(self.payload, f"audit record {self.seq}")
        return record_hash(self.seq, self.ts, self.kind, payload_json, self.prev_hash)

    def to_json(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "ts": self.ts,
                "kind": self.kind,
                "payload": self.payload,
                "prev_hash": self.prev_hash,
                "hash": self.hash,
            },
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, line: str) -> AuditRecord:
        """Parse one JSON line; a missing or mistyped field raises ``ValueError``."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("audit record: line is not a JSON object")
        fields = {
            "seq": int,
            "ts": str,
            "kind": str,
            "payload": dict,
            "prev_hash": str,
            "hash": str,
        }
        for name, typ in fields.items():
            if not isinstance(data.get(name), typ):
                raise ValueError(f"audit record: field {name!r} missing or not {typ.__name__}")
        return cls(**{name: data[name] for name in fields})
