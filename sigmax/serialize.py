"""The JSON form of the value types, one definition used by reports, the audit trail,
storage and events (Decimals as strings, datetimes as ISO 8601)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sigmax.model import Decision, OrderRequest, RiskVerdict, Signal


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
