"""Audit payloads of risk checks and decisions (plain dicts of JSON-able values)."""

from __future__ import annotations

from typing import Any

from sigmax.model import Decision, OrderRequest, RiskVerdict
from sigmax.risk.context import RiskContext


def order_payload(order: OrderRequest) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "qty": str(order.qty),
        "type": order.type.value,
        "limit_price": None if order.limit_price is None else str(order.limit_price),
        "stop_price": None if order.stop_price is None else str(order.stop_price),
        "tif": order.tif.value,
        "reduce_only": order.reduce_only,
    }


def verdict_payload(verdict: RiskVerdict) -> dict[str, Any]:
    return {
        "approved": verdict.approved,
        "checks": [[c.rule, c.passed, c.detail] for c in verdict.checks],
    }


def check_payload(order: OrderRequest, ctx: RiskContext, verdict: RiskVerdict) -> dict[str, Any]:
    """What one pre-trade check saw and concluded."""
    payload = verdict_payload(verdict)
    payload["order"] = order_payload(order)
    payload["context"] = {
        "last_price": str(ctx.last_price),
        "position_qty": str(ctx.position_qty),
        "equity": str(ctx.equity),
        "reference_price": None if ctx.reference_price is None else str(ctx.reference_price),
    }
    return payload


def decision_payload(decision: Decision) -> dict[str, Any]:
    """Everything a decision rested on: signals, debate, rationale and risk verdict."""
    return {
        "symbol": decision.symbol,
        "target_position": decision.target_position,
        "signals": [
            {
                "agent": s.agent,
                "score": s.score,
                "confidence": s.confidence,
                "rationale": s.rationale,
                "evidence": dict(s.evidence),
            }
            for s in decision.signals
        ],
        "bull_case": decision.bull_case,
        "bear_case": decision.bear_case,
        "rationale": decision.rationale,
        "missing": list(decision.missing),
        "risk_verdict": None
        if decision.risk_verdict is None
        else verdict_payload(decision.risk_verdict),
    }
