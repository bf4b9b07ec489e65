"""Risk engine: pre-trade checks, circuit breakers, kill switch, compliance and audit."""

from sigmax.risk.audit import AuditIntegrityError, AuditTrail, verify_chain
from sigmax.risk.audit_record import AuditRecord
from sigmax.risk.audit_sinks import AuditSink, InMemoryAuditSink, JsonlAuditSink, read_jsonl
from sigmax.risk.config import RiskConfig
from sigmax.risk.context import RiskContext
from sigmax.risk.engine import RiskEngine
from sigmax.risk.state import RiskStateError, TradingState

__all__ = [
    "AuditIntegrityError",
    "AuditRecord",
    "AuditSink",
    "AuditTrail",
    "InMemoryAuditSink",
    "JsonlAuditSink",
    "RiskConfig",
    "RiskContext",
    "RiskEngine",
    "RiskStateError",
    "TradingState",
    "read_jsonl",
    "verify_chain",
]
