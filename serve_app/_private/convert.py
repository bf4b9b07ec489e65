"""Domain values and stored rows → API response models."""

from __future__ import annotations

from decimal import Decimal

from serve_app.schema import (
    DecisionOut,
    FillOut,
    KeyOut,
    OrderOut,
    OrderResultOut,
    PositionOut,
    RiskCheckOut,
    SignalOut,
)
from sigmax.model import Decision, Fill, Order, Position
from sigmax.serialize import verdict_json
from sigmax.storage.repos.keys import ApiKey
from sigmax.trading.manual import ManualResult


def order_out(order: Order) -> OrderOut:
    r = order.request
    return OrderOut(
        client_order_id=r.client_order_id,
        symbol=r.symbol,
        side=r.side.value,
        type=r.type.value,
        qty=r.qty,
        limit_price=r.limit_price,
        stop_price=r.stop_price,
        tif=r.tif.value,
        reduce_only=r.reduce_only,
        status=order.status.value,
        filled_qty=order.filled_qty,
        avg_fill_price=order.avg_fill_price,
        fees=order.fees,
        reason=order.reason,
        created_ts=order.created_ts,
        updated_ts=order.updated_ts,
    )


def fill_out(fill: Fill) -> FillOut:
    return FillOut(
        fill_id=fill.fill_id,
        client_order_id=fill.client_order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        qty=fill.qty,
        price=fill.price,
        fee=fill.fee,
        ts=fill.ts,
        liquidity=fill.liquidity.value,
    )


def position_out(position: Position, mark: Decimal | None) -> PositionOut:
    """A position marked at ``mark`` (None when the symbol has no price)."""
    return PositionOut(
        symbol=position.symbol,
        qty=position.qty,
        avg_price=position.avg_price,
        realized_pnl=position.realized_pnl,
        mark_price=mark,
        notional=None if mark is None else position.qty * mark,
    )


def decision_out(d: Decision, decision_id: int | None = None) -> DecisionOut:
    verdict = d.risk_verdict
    return DecisionOut(
        id=decision_id,
        ts=d.ts,
        symbol=d.symbol,
        target_position=d.target_position,
        signals=[
            SignalOut(
                agent=s.agent,
                score=s.score,
                confidence=s.confidence,
                rationale=s.rationale,
                evidence={k: float(v) for k, v in dict(s.evidence).items()},
            )
            for s in d.signals
        ],
        bull_case=d.bull_case,
        bear_case=d.bear_case,
        rationale=d.rationale,
        missing=list(d.missing),
        approved=None if verdict is None else verdict.approved,
        risk_verdict=None if verdict is None else verdict_json(verdict),
    )


def manual_out(result: ManualResult) -> OrderResultOut:
    return OrderResultOut(
        client_order_id=result.request.client_order_id,
        approved=result.approved,
        reason=result.reason,
        checks=[
            RiskCheckOut(rule=c.rule, passed=c.passed, detail=c.detail)
            for c in result.verdict.checks
        ],
        order=None if result.order is None else order_out(result.order),
    )


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        rotated_from=key.rotated_from,
    )
