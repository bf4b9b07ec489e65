"""The JSON form of the value types, one definition used by reports, the audit trail,
storage and events (Decimals as strings, datetimes as ISO 8601)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sigmax.model import Decision, OrderRequest, RiskVerdict, Signal


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def canonical_json(value: Any, where: str = "payload") -> str:
    """Canonical (sorted keys, compact) JSON of ``value``; Decimals and datetimes become
    strings, enums their value, sets sorted lists. Non-finite floats and other types
    raise ``ValueError`` naming ``where``."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_default
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def signal_json(signal: Signal) -> dict[str, Any]:
    return {
        "agent": signal.agent,
        "score": signal.score,
        "confidence": signal.confidence,
        "rationale": signal.rationale,
        "evidence": dict(signal.evidence),
    }


def verdict_json(verdict: RiskVerdict) -> dict[str, Any]:
    """Approval, the combined reason and every rule's outcome."""
    return {
        "approved": verdict.approved,
        "reason": verdict.reason,
        "checks": [
            {"rule": c.rule, "passed": c.passed, "detail": c.detail} for c in verdict.checks
        ],
    }


def decision_json(decision: Decision) -> dict[str, Any]:
    """A decision with every agent's signal, the debate and the risk verdict."""
    return {
        "ts": decision.ts.isoformat(),
        "symbol": decision.symbol,
        "target_position": decision.target_position,
        "rationale": decision.rationale,
        "bull_case": decision.bull_case,
        "bear_case": decision.bear_case,
        "missing": list(decision.missing),
        "signals": [signal_json(s) for s in decision.signals],
        "risk_verdict": (
            None if decision.risk_verdict is None else verdict_json(decision.risk_verdict)
        ),
    }


def order_request_json(request: OrderRequest) -> dict[str, Any]:
    return {
        "client_order_id": request.client_order_id,
        "symbol": request.symbol,
        "side": request.side.value,
        "qty": str(request.qty),
        "type": request.type.value,
        "limit_price": _money(request.limit_price),
        "stop_price": _money(request.stop_price),
        "tif": request.tif.value,
        "reduce_only": request.reduce_only,
    }
