"""A fill shown to the risk engine again (a bar replayed after a session restart)
counts once: no second slippage sample, streak step or audit record, also after the
engine was rebuilt from its snapshot (issue 14, section 5)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

from sigmax.model import Fill, Liquidity, Side
from sigmax.risk import RiskConfig, RiskEngine, TradingState
from sigmax.risk.triggers import RecentFillIds

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _fill(cid: str, side: str, price: str, reference: str) -> Fill:
    return Fill(
        fill_id=f"{cid}-1",
        client_order_id=cid,
        symbol="BTC/USD",
        side=Side(side),
        qty=Decimal(1),
        price=Decimal(price),
        fee=Decimal(0),
        ts=T0,
        liquidity=Liquidity.TAKER,
        reference_price=Decimal(reference),
    )


def _engine() -> RiskEngine:
    engine = RiskEngine(RiskConfig(max_slippage_pct=0.05, max_consecutive_losses=2))
    assert engine.on_fill(_fill("open", "buy", "100", "100"))
    assert engine.on_fill(_fill("close", "sell", "90", "91"))  # a loss, 1.1% slippage
    return engine


def test_the_same_fill_given_twice_changes_nothing_the_second_time() -> None:
    engine = _engine()
    before, records = engine.snapshot(), len(engine.audit.records())
    assert not engine.on_fill(_fill("close", "sell", "90", "91"))
    assert engine.snapshot() == before
    assert len(engine.audit.records()) == records
    assert engine.recent_slippage == [0.0, 1 / 91]
    assert engine.state is TradingState.RUNNING


def test_a_fill_seen_before_a_restore_is_not_counted_after_it() -> None:
    rebuilt = RiskEngine(RiskConfig())
    rebuilt.restore(_engine().snapshot())
    before = rebuilt.snapshot()
    assert not rebuilt.on_fill(_fill("close", "sell", "90", "91"))
    assert rebuilt.snapshot() == before
    assert rebuilt.on_fill(_fill("again", "sell", "80", "91"))  # a new fill counts
    assert rebuilt.pause_cause == "slippage"


def test_a_version_2_snapshot_gives_the_fill_ids_its_losing_streak_kept() -> None:
    snap = _engine().snapshot()
    old = {k: v for k, v in copy.deepcopy(snap).items() if k != "fill_ids"}
    old["version"] = 2
    old["triggers"]["losing_streak"]["recent_fills"] = snap["fill_ids"]
    rebuilt = RiskEngine(RiskConfig())
    rebuilt.restore(old)
    assert rebuilt.snapshot() == snap
    assert not rebuilt.on_fill(_fill("close", "sell", "90", "91"))


def test_the_recent_fill_ids_are_bounded_oldest_forgotten_first() -> None:
    ids = RecentFillIds()
    assert all(ids.add(f"f{n}") for n in range(300))
    assert len(ids.snapshot()) == 256 and ids.snapshot()[0] == "f44"
    assert not ids.add("f299") and not ids.add("f44")
    assert ids.add("f0")  # forgotten: a replay repeats only one bar's fills
