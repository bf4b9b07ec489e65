"""Events: the model's rules and the builders' JSON from domain objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from sigmax.events import TOPICS, Event, make_event
from sigmax.events.model import decision_data, fill_data, order_data, proposal_data
from sigmax.model import (
    Decision,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    RiskCheck,
    RiskVerdict,
    Side,
    Signal,
)

TS = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _decision() -> Decision:
    return Decision(
        ts=TS,
        symbol="BTC/USD",
        target_position=0.5,
        signals=(
            Signal("trend", 0.8, 0.5, "above the 200 bar mean", {"sma_gap": 0.031}),
            Signal("momentum", -0.2, 1.0, "rsi falling", {"rsi": 44.0}),
            Signal("sentiment", 0.0, 0.0, "no news"),
        ),
        bull_case="trend up",
        bear_case="momentum fading",
        rationale="trend outweighs momentum",
        missing=("volatility",),
    )


def test_topics_are_the_six_documented_ones() -> None:
    assert TOPICS == ("decisions", "orders", "fills", "risk", "proposals", "status")


def test_event_round_trips_through_json_and_rejects_what_is_not_json() -> None:
    event = make_event("fills", "s1", {"qty": Decimal("0.015"), "ts": TS, "side": Side.BUY})
    assert event.data == {"qty": "0.015", "ts": TS.isoformat(), "side": "buy"}
    assert len(event.id) == 32 and event.ts.tzinfo is not None
    assert Event.from_json(event.to_json()) == event
    wire = event.wire()
    assert wire["type"] == "event" and wire["id"] == event.id and wire["topic"] == "fills"
    json.dumps(wire)  # plain JSON all the way down

    with pytest.raises(ValidationError, match="topic"):
        Event(topic="trades", session_id="s1", data={})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Event(topic="fills", session_id="s1", data={"qty": Decimal(1)})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="not JSON-able"):
        make_event("fills", "s1", {"obj": object()})
    with pytest.raises(ValidationError):
        Event.model_validate({**event.model_dump(), "id": "not-hex"})
    assert make_event("status", "s1", {}).id != make_event("status", "s1", {}).id


def test_decision_data_summarises_every_signal() -> None:
    data = make_event("decisions", "s1", decision_data(_decision())).data
    assert data["target_position"] == 0.5
    assert data["rationale"] == "trend outweighs momentum"
    assert data["missing"] == ["volatility"]
    assert [s["agent"] for s in data["signals"]] == ["trend", "momentum", "sentiment"]  # type: ignore[union-attr, index]
    assert data["signals"][0]["evidence"] == {"sma_gap": 0.031}  # type: ignore[index, call-overload]
    summary = data["summary"]
    assert summary == {
        "count": 3,
        "bullish": 1,
        "bearish": 1,
        "neutral": 1,
        "mean_score": pytest.approx(0.2),
        "weighted_score": pytest.approx((0.8 * 0.5 - 0.2) / 1.5),
    }


def test_order_fill_and_proposal_data_keep_decimals_exact() -> None:
    request = OrderRequest("s1-1", "BTC/USD", Side.BUY, Decimal("0.123456789"))
    rejected = RiskVerdict(False, (RiskCheck("max_order_notional", False, "too big"),))
    data = make_event("orders", "s1", order_data(request, rejected)).data
    assert data["qty"] == "0.123456789" and data["approved"] is False
    assert data["reason"] == "max_order_notional: too big"
    assert data["status"] == "rejected_by_risk"
    assert data["checks"] == [{"rule": "max_order_notional", "passed": False, "detail": "too big"}]

    order = Order(request, OrderStatus.ACCEPTED, TS, TS, venue_order_id="v1")
    approved = RiskVerdict(True, (RiskCheck("max_order_notional", True, "ok"),))
    data = make_event("orders", "s1", order_data(request, approved, order)).data
    assert (data["approved"], data["reason"], data["status"]) == (True, "approved", "accepted")

    fill = Fill(
        "f1",
        "s1-1",
        "BTC/USD",
        Side.SELL,
        Decimal("0.5"),
        Decimal("61000.10"),
        Decimal("30.50005"),
        TS,
        Liquidity.TAKER,
        Decimal("61010"),
    )
    data = make_event("fills", "s1", fill_data(fill)).data
    assert (data["qty"], data["price"], data["fee"]) == ("0.5", "61000.10", "30.50005")
    assert data["notional"] == "30500.050" and data["side"] == "sell"
    assert data["slippage"] == pytest.approx(float(Decimal("9.9") / Decimal("61010")))

    data = make_event(
        "proposals",
        "s1",
        proposal_data(_decision(), request, Decimal(0), Decimal("60000.5"), 10_000.0, 0.0),
    ).data
    assert data["order"]["client_order_id"] == "s1-1"  # type: ignore[index, call-overload]
    assert (data["previous_target"], data["target_position"]) == (0.0, 0.5)
    assert data["reference_price"] == "60000.5"


def test_a_fill_event_gives_slippage_against_the_expected_price_and_the_shortfall() -> None:
    fill = Fill(
        "f2",
        "s1-2",
        "BTC/USD",
        Side.BUY,
        Decimal("1"),
        Decimal("108.0648"),
        Decimal("0"),
        TS,
        Liquidity.TAKER,
        reference_price=Decimal("100"),
        expected_price=Decimal("108"),
    )
    data = make_event("fills", "s1", fill_data(fill)).data
    assert (data["reference_price"], data["expected_price"]) == ("100", "108")
    assert data["slippage"] == pytest.approx(0.0006)
    assert data["shortfall"] == pytest.approx(0.080648)
