"""Live events: what the trading system tells the API's WebSocket clients (and NATS).

An :class:`Event` is one JSON-able record on one topic. ``id`` is a uuid4 hex that
stays the same through every redelivery, so consumers (and NATS JetStream's
duplicate window) can drop duplicates. ``ts`` is when the system produced the
event (wall clock, UTC); market time, where there is one, is ``data["ts"]``.

The ``*_data`` builders turn :mod:`sigmax.model` objects into the ``data`` dict of
their topic: Decimals become strings (exact), datetimes ISO 8601 strings, enums
their values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, get_args
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from sigmax.model import Decision, Fill, Order, OrderRequest, RiskVerdict, Signal
from sigmax.serialize import order_request_json, signal_json, verdict_json

Topic = Literal["decisions", "orders", "fills", "risk", "proposals", "status"]
TOPICS: tuple[str, ...] = get_args(Topic)

# The trading session's event kinds and the topic each is published on.
TOPIC_OF_KIND: dict[str, Topic] = {
    "decision": "decisions",
    "order": "orders",
    "fill": "fills",
    "risk": "risk",
    "proposal": "proposals",
    "status": "status",
    "allocation": "status",  # a portfolio session's symbol weights changed
}

# Approval mode: a proposal's life, published on topic ``proposals`` with ``data["kind"]``.
PROPOSAL_KINDS: tuple[str, ...] = (
    "proposal.created",
    "proposal.approved",
    "proposal.executed",
    "proposal.rejected",
    "proposal.expired",
    "proposal.failed",
)
TOPIC_OF_KIND.update({kind: "proposals" for kind in PROPOSAL_KINDS})


def _new_id() -> str:
    return uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """One live event. Frozen; ``data`` holds JSON values only (Decimals as strings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=_new_id, pattern=r"^[0-9a-f]{32}$")
    topic: Topic
    ts: datetime = Field(default_factory=_now)
    session_id: str = Field(min_length=1)
    data: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("event ts must be timezone-aware")
        return value.astimezone(UTC)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        return cls.model_validate_json(raw)

    def wire(self) -> dict[str, Any]:
        """The WebSocket message: ``type`` "event" and every field of the event."""
        return {"type": "event", **self.model_dump(mode="json")}


def jsonable(value: Any) -> JsonValue:
    """``value`` as JSON: Decimal → str, datetime → ISO string, enum → value,
    non-finite float → None, mappings and sequences recursively."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    raise TypeError(f"event data: {type(value).__name__} is not JSON-able: {value!r}")


def make_event(topic: Topic, session_id: str, data: Mapping[str, Any]) -> Event:
    """An event with a fresh id, stamped now, its data made JSON-able."""
    payload = jsonable(data)
    assert isinstance(payload, dict)
    return Event(topic=topic, session_id=session_id, data=payload)


# -- builders ------------------------------------------------------------------------


def signals_summary(signals: tuple[Signal, ...]) -> dict[str, Any]:
    """Counts by direction and the (confidence-weighted) mean score of the signals."""
    weight = sum(s.confidence for s in signals)
    return {
        "count": len(signals),
        "bullish": sum(1 for s in signals if s.score > 0),
        "bearish": sum(1 for s in signals if s.score < 0),
        "neutral": sum(1 for s in signals if s.score == 0),
        "mean_score": sum(s.score for s in signals) / len(signals) if signals else None,
        "weighted_score": (
            sum(s.score * s.confidence for s in signals) / weight if weight > 0 else None
        ),
    }


def decision_data(decision: Decision) -> dict[str, Any]:
    """Topic ``decisions``: the target, the reasoning, and every agent's signal."""
    return {
        "ts": decision.ts,
        "symbol": decision.symbol,
        "target_position": decision.target_position,
        "rationale": decision.rationale,
        "bull_case": decision.bull_case,
        "bear_case": decision.bear_case,
        "missing": list(decision.missing),
        "signals": [signal_json(s) for s in decision.signals],
        "summary": signals_summary(decision.signals),
        "risk_verdict": (
            verdict_json(decision.risk_verdict) if decision.risk_verdict is not None else None
        ),
    }


def proposal_data(
    decision: Decision,
    request: OrderRequest,
    held: Decimal,
    price: Decimal,
    equity: float,
    previous_target: float,
) -> dict[str, Any]:
    """Topic ``proposals``: the order a changed target asks for, before the risk gate."""
    return {
        "ts": decision.ts,
        "symbol": decision.symbol,
        "target_position": decision.target_position,
        "previous_target": previous_target,
        "held_qty": held,
        "reference_price": price,
        "equity": equity,
        "order": order_request_json(request),
    }


def proposal_state_data(kind: str, proposal: Mapping[str, Any]) -> dict[str, Any]:
    """Topic ``proposals`` in approval mode: ``kind`` (one of PROPOSAL_KINDS) and the
    proposal's JSON form (``sigmax.proposals.Proposal.to_json``)."""
    if kind not in PROPOSAL_KINDS:
        raise ValueError(f"proposal event kind {kind!r}: use one of {list(PROPOSAL_KINDS)}")
    return {"kind": kind, **proposal}


def order_data(
    request: OrderRequest, verdict: RiskVerdict, order: Order | None = None
) -> dict[str, Any]:
    """Topic ``orders``: the order, the risk verdict (with every check) and, when it
    reached the venue, its state there."""
    return {
        **order_request_json(request),
        "approved": verdict.approved,
        "reason": verdict.reason,
        "checks": verdict_json(verdict)["checks"],
        "status": order.status if order is not None else "rejected_by_risk",
        "filled_qty": order.filled_qty if order is not None else Decimal(0),
        "venue_order_id": order.venue_order_id if order is not None else None,
    }


def order_state_data(order: Order) -> dict[str, Any]:
    """Topic ``orders``: one order's current state (for order updates outside the session)."""
    return {
        **order_request_json(order.request),
        "status": order.status,
        "filled_qty": order.filled_qty,
        "avg_fill_price": order.avg_fill_price,
        "fees": order.fees,
        "venue_order_id": order.venue_order_id,
        "reason": order.reason,
        "updated_ts": order.updated_ts,
    }


def fill_data(fill: Fill) -> dict[str, Any]:
    """Topic ``fills``: one execution with qty, price, fee (quote currency), slippage
    (against the price it was expected to fill at) and shortfall (against the price
    the order was decided at, ``reference_price``)."""
    return {
        "fill_id": fill.fill_id,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "qty": fill.qty,
        "price": fill.price,
        "fee": fill.fee,
        "notional": fill.notional,
        "ts": fill.ts,
        "liquidity": fill.liquidity,
        "reference_price": fill.reference_price,
        "expected_price": fill.expected_price,
        "slippage": fill.slippage,
        "shortfall": fill.shortfall,
    }


def risk_state_data(
    state: str, reason: str, previous: str | None, ts: datetime | None = None
) -> dict[str, Any]:
    """Topic ``risk``: the trading state changed (running / paused / killed)."""
    return {"state": state, "reason": reason, "previous": previous, "ts": ts}


def allocation_data(
    weights: Mapping[str, float], previous: Mapping[str, float], source: str
) -> dict[str, Any]:
    """Topic ``status``: a session's symbol weights changed (``source`` says who set
    them, e.g. the optimiser's solver and the bars it saw)."""
    return {
        "status": "allocation",
        "weights": dict(weights),
        "previous": dict(previous),
        "source": source,
    }


def status_data(status: str, **details: Any) -> dict[str, Any]:
    """Topic ``status``: a session started, finished or failed, with details."""
    return {"status": status, **details}
