"""The proposal state machine: legal moves, illegal ones with clear errors, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigmax.model import Decision, OrderRequest, OrderType, RiskCheck, RiskVerdict, Side, Signal
from sigmax.proposals import (
    IllegalProposalTransition,
    Proposal,
    ProposalExpired,
    ProposalStatus,
    new_proposal,
    order_request_from_json,
)
from sigmax.serialize import order_request_json

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
S = ProposalStatus


def _decision() -> Decision:
    signal = Signal("momentum", 0.6, 0.8, "rising closes", {"roc": 0.02})
    verdict = RiskVerdict(True, (RiskCheck("max_position", True, "ok"),))
    return Decision(T0, "BTC/USD", 0.5, (signal,), "bull", "bear", "go long", (), verdict)


def _proposal(ttl_s: float = 60.0) -> Proposal:
    order = OrderRequest("s-1", "BTC/USD", Side.BUY, Decimal("0.015"))
    verdict = RiskVerdict(True, (RiskCheck("price_band", True, "ok"),))
    return new_proposal(
        _decision(),
        order,
        verdict,
        Decimal("61000.5"),
        account="paper:s",
        session_id="s",
        now=T0,
        ttl_s=ttl_s,
    )


def test_new_proposal_holds_the_decision_order_and_expiry() -> None:
    p = _proposal(ttl_s=90)
    assert p.id == p.order.client_order_id == "s-1"
    assert p.status is S.PENDING
    assert p.expires_at == T0 + timedelta(seconds=90)
    assert p.decision["signals"][0]["agent"] == "momentum"
    assert p.decision["bull_case"] == "bull" and p.decision["rationale"] == "go long"
    assert p.decision["risk_verdict"]["approved"] is True
    assert p.proposed_verdict is not None
    assert p.proposed_verdict["checks"][0]["rule"] == "price_band"
    data = p.to_json()
    assert data["order"]["qty"] == "0.015" and data["reference_price"] == "61000.5"
    assert data["expires_at"] == "2026-01-02T03:05:35+00:00"


@pytest.mark.parametrize(
    ("path", "end"),
    [
        ([S.APPROVED, S.EXECUTED], S.EXECUTED),
        ([S.APPROVED, S.FAILED], S.FAILED),
        ([S.REJECTED], S.REJECTED),
    ],
)
def test_legal_paths(path: list[ProposalStatus], end: ProposalStatus) -> None:
    p = _proposal()
    for i, to in enumerate(path):
        p = p.moved(to, T0 + timedelta(seconds=i + 1), by="api-key:1 (ops)")
    assert p.status is end and p.status.is_terminal
    assert p.decided_by == "api-key:1 (ops)"
    assert p.decided_at == T0 + timedelta(seconds=1)  # when approved/rejected, not executed


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], S.EXECUTED),
        ([], S.FAILED),
        ([S.APPROVED], S.REJECTED),
        ([S.APPROVED], S.APPROVED),
        ([S.APPROVED, S.EXECUTED], S.APPROVED),
        ([S.REJECTED], S.APPROVED),
        ([S.APPROVED, S.FAILED], S.EXECUTED),
    ],
)
def test_illegal_moves_raise_naming_the_state(
    path: list[ProposalStatus], illegal: ProposalStatus
) -> None:
    p = _proposal()
    for to in path:
        p = p.moved(to, T0, by="ops")
    with pytest.raises(IllegalProposalTransition) as err:
        p.moved(illegal, T0, by="ops")
    assert f"is {p.status.value}" in str(err.value)
    assert f"cannot become {illegal.value}" in str(err.value)
    assert err.value.proposal is p


def test_an_expired_proposal_cannot_be_approved_or_rejected() -> None:
    p = _proposal(ttl_s=10)
    late = T0 + timedelta(seconds=10)
    assert not p.is_due(late - timedelta(microseconds=1)) and p.is_due(late)
    for to in (S.APPROVED, S.REJECTED):
        with pytest.raises(ProposalExpired, match="expired at 2026-01-02T03:04:15"):
            p.moved(to, late, by="ops")
    seen = p.as_of(late)
    assert seen.status is S.EXPIRED and "not approved before" in (seen.reason or "")
    assert p.as_of(late - timedelta(seconds=1)) is p
    assert not seen.can_move(S.APPROVED)


def test_bad_ttl_and_naive_time_are_refused() -> None:
    order = OrderRequest("s-2", "BTC/USD", Side.SELL, Decimal(1))
    with pytest.raises(ValueError, match="ttl_s must be > 0"):
        new_proposal(
            _decision(), order, None, Decimal(1), account="a", session_id="s", now=T0, ttl_s=0
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        new_proposal(
            _decision(),
            order,
            None,
            Decimal(1),
            account="a",
            session_id="s",
            now=T0.replace(tzinfo=None),
            ttl_s=1,
        )


def test_order_request_round_trips_through_json_exactly() -> None:
    order = OrderRequest(
        "x-1",
        "BTC/USD",
        Side.SELL,
        Decimal("0.123456789"),
        OrderType.LIMIT,
        limit_price=Decimal("65432.1"),
        reduce_only=True,
    )
    assert order_request_from_json(order_request_json(order)) == order
