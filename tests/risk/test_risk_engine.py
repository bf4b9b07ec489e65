"""The engine composed: verdicts, trading state, kill switch and the order-rate limit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from sigmax.risk import RiskConfig, RiskEngine, RiskStateError, TradingState


def test_approved_order_reports_every_rule(order, ctx):
    engine = RiskEngine(RiskConfig())
    verdict = engine.check(order(qty="1"), ctx())
    assert verdict.approved and verdict.reason == "approved"
    assert [c.rule for c in verdict.checks] == [
        "trading_state",
        "restricted_symbol",
        "reduce_only",
        "allow_short",
        "max_order_notional",
        "max_position_notional",
        "max_gross_exposure",
        "max_leverage",
        "max_open_positions",
        "price_band",
        "max_orders_per_minute",
    ]


def test_rejection_names_every_failed_rule(order, ctx):
    engine = RiskEngine(RiskConfig(max_order_notional=Decimal("10000")))
    verdict = engine.check(order(qty="123.45", limit_price="100"), ctx(last="100"))
    assert not verdict.approved
    assert [c.rule for c in verdict.failed] == ["max_order_notional"]
    assert verdict.reason == "max_order_notional: order notional 12,345.00 > limit 10,000.00"
    two = engine.check(order(qty="200", limit_price="120"), ctx(last="100"))
    assert [c.rule for c in two.failed] == ["max_order_notional", "price_band"]
    engine.check(order(qty="1"), ctx(last="100"))
    assert engine.verdict_counts() == {
        "approved": 1,
        "rejected_by_rule": {"max_order_notional": 2, "price_band": 1},
    }


def test_paused_allows_only_shrinking_reduce_only(order, ctx):
    engine = RiskEngine(RiskConfig())
    engine.pause("manual check", operator="alice")
    assert engine.state is TradingState.PAUSED
    held = ctx(position="5")
    assert not engine.check(order(side="buy"), held).approved
    assert not engine.check(order(side="sell", qty="2"), held).approved
    assert engine.check(order(side="sell", qty="2", reduce_only=True), held).approved
    rejected = engine.check(order(side="buy"), held)
    assert "trading paused (manual check)" in rejected.reason
    engine.resume("alice")
    assert engine.state is TradingState.RUNNING
    assert engine.check(order(side="buy"), held).approved


def test_kill_switch_rejects_everything_until_released_and_resumed(order, ctx):
    engine = RiskEngine(RiskConfig())
    engine.kill("runaway strategy", operator="bob")
    verdict = engine.check(order(side="sell", reduce_only=True), ctx(position="5"))
    assert not verdict.approved
    assert "kill switch engaged: runaway strategy" in verdict.reason
    with pytest.raises(RiskStateError, match="release_kill first"):
        engine.resume("bob")
    with pytest.raises(RiskStateError, match="release_kill first"):
        engine.pause("x")
    engine.release_kill("bob")
    assert engine.state is TradingState.PAUSED
    assert not engine.check(order(), ctx()).approved
    engine.resume("bob")
    assert engine.check(order(), ctx()).approved


def test_release_kill_when_not_killed_is_an_error():
    with pytest.raises(RiskStateError, match="not engaged"):
        RiskEngine(RiskConfig()).release_kill("bob")


def test_state_changes_are_audited_with_who_and_why():
    engine = RiskEngine(RiskConfig())
    engine.pause("news event", operator="alice")
    engine.resume("carol")
    engine.kill("exchange outage", operator="dave")
    changes = [r.payload for r in engine.audit.records("state_change")]
    assert [(c["from"], c["to"], c["operator"]) for c in changes] == [
        ("running", "paused", "alice"),
        ("paused", "running", "carol"),
        ("running", "killed", "dave"),
    ]
    assert changes[0]["reason"] == "news event"
    assert changes[2]["reason"] == "exchange outage"


def test_empty_reason_or_operator_rejected():
    engine = RiskEngine(RiskConfig())
    with pytest.raises(ValueError, match="reason must not be empty"):
        engine.pause(" ")
    engine.pause("ok")
    with pytest.raises(ValueError, match="operator must not be empty"):
        engine.resume("")


def test_rate_limit_counts_approved_orders_on_the_simulated_clock(order, ctx, t0):
    engine = RiskEngine(RiskConfig(max_orders_per_minute=2))
    assert engine.check(order(), ctx(ts=t0)).approved
    assert not engine.check(order(qty="100000"), ctx(ts=t0)).approved  # rejected: not counted
    assert engine.check(order(), ctx(ts=t0 + timedelta(seconds=10))).approved
    third = engine.check(order(), ctx(ts=t0 + timedelta(seconds=59)))
    assert not third.approved
    assert "max_orders_per_minute: 2 orders in the last 60s >= limit 2" in third.reason
    assert engine.check(order(), ctx(ts=t0 + timedelta(seconds=60))).approved


def test_every_check_is_audited(order, ctx, t0):
    engine = RiskEngine(RiskConfig())
    engine.check(order(qty="2"), ctx())
    engine.check(order(qty="100000"), ctx())
    records = engine.audit.records("risk_check")
    assert [r.payload["approved"] for r in records] == [True, False]
    assert records[0].payload["order"]["qty"] == "2"
    assert records[0].ts == t0.isoformat()
    assert engine.audit.verify() == 2


def test_context_rejects_bad_input(ctx, t0):
    with pytest.raises(ValueError, match="last_price must be > 0"):
        ctx(last="0")
    with pytest.raises(ValueError, match="has no timezone"):
        ctx(ts=t0.replace(tzinfo=None))
