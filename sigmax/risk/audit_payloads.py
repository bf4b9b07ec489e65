"""Audit payloads of risk checks and decisions (plain dicts of JSON-able values)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sigmax.model import Decision, OrderRequest, RiskVerdict
from sigmax.risk.context import RiskContext
from sigmax.serialize import decision_json, order_request_json, verdict_json


def check_payload(
    order: OrderRequest,
    ctx: RiskContext,
    verdict: RiskVerdict,
    book: Mapping[str, Decimal] | None = None,
) -> dict[str, Any]:
    """What one pre-trade check saw and concluded; ``book`` stands for the context's
    positions (a copy taken at the check, when the payload is built later)."""
    book = ctx.positions_notional if book is None else book
    payload = verdict_json(verdict)
    payload["order"] = order_request_json(order)
    payload["context"] = {
        "last_price": str(ctx.last_price),
        "position_qty": str(ctx.position_qty),
        "equity": str(ctx.equity),
        "reference_price": None if ctx.reference_price is None else str(ctx.reference_price),
        "positions_notional": {s: str(n) for s, n in book.items()},
    }
    return payload


def decision_payload(decision: Decision) -> dict[str, Any]:
    """Everything a decision rested on: signals, debate, rationale and risk verdict."""
    return decision_json(decision)
