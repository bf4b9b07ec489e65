"""snapshot()/restore(): an engine rebuilt from a snapshot behaves like the original."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from sigmax.risk import RiskConfig, RiskEngine, TradingState

DAY0 = 19_700 * 86_400_000_000_000
HOUR_NS = 3_600_000_000_000


def busy_engine(order, ctx, t0) -> RiskEngine:
    engine = RiskEngine(RiskConfig(max_orders_per_minute=3, daily_loss_limit_pct=0.05))
    engine.update_limits(max_order_notional=Decimal("5000"))
    engine.on_equity(DAY0, 100_000.0)
    engine.on_equity(DAY0 + HOUR_NS, 110_000.0)
    engine.on_equity(DAY0 + 2 * HOUR_NS, 94_000.0)  # 6% below day start: paused
    assert engine.pause_cause == "daily_loss"
    engine.resume("ops", force=True)  # rebases peak and day start to 94,000
    for seconds in (0, 10):
        assert engine.check(order(), ctx(ts=t0 + timedelta(seconds=seconds))).approved
    return engine


def test_snapshot_round_trip_through_json(order, ctx, t0):
    engine = busy_engine(order, ctx, t0)
    engine.pause("maintenance", operator="ops")
    snap = json.loads(json.dumps(engine.snapshot()))
    rebuilt = RiskEngine(RiskConfig())
    rebuilt.restore(snap)
    assert rebuilt.snapshot() == engine.snapshot()
    assert rebuilt.state is TradingState.PAUSED
    assert rebuilt.state_reason == "maintenance"
    assert rebuilt.config.max_order_notional == Decimal("5000")
    assert rebuilt.peak_equity == 94_000.0 and rebuilt.day_start_equity == 94_000.0


def test_restored_engine_keeps_rate_window_and_breakers(order, ctx, t0):
    rebuilt = RiskEngine(RiskConfig())
    rebuilt.restore(busy_engine(order, ctx, t0).snapshot())
    assert rebuilt.check(order(), ctx(ts=t0 + timedelta(seconds=20))).approved
    fourth = rebuilt.check(order(), ctx(ts=t0 + timedelta(seconds=30)))
    assert "3 orders in the last 60s >= limit 3" in fourth.reason
    rebuilt.on_equity(DAY0 + 3 * HOUR_NS, 89_000.0)  # 5.3% below restored day start
    assert rebuilt.pause_cause == "daily_loss"


def test_snapshot_of_fresh_engine_round_trips():
    engine = RiskEngine(RiskConfig())
    other = RiskEngine(RiskConfig())
    other.restore(engine.snapshot())
    assert other.snapshot() == engine.snapshot()
    assert other.peak_equity is None


def test_bad_snapshot_is_refused_and_state_kept(order, ctx, t0):
    engine = busy_engine(order, ctx, t0)
    before = engine.snapshot()
    broken = dict(before)
    del broken["order_times_ns"]
    with pytest.raises(ValueError, match="risk snapshot invalid: KeyError\\('order_times_ns'\\)"):
        engine.restore(broken)
    with pytest.raises(ValueError, match="risk snapshot invalid"):
        engine.restore({**before, "state": "sleeping"})
    with pytest.raises(ValueError, match="version 9"):
        engine.restore({**before, "version": 9})
    assert engine.snapshot() == before
