"""Portfolio limits: each refuses an order with the whole book (every symbol) in view,
and the refusal is audited with the book it saw."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.risk import RiskConfig, RiskEngine

BOOK = {"ETH/USD": "30000", "LTC/USD": "-10000"}  # signed notionals of the other symbols


def _refusal(engine: RiskEngine, verdict, rule: str) -> dict:
    assert not verdict.approved
    assert [c.rule for c in verdict.failed] == [rule]
    record = engine.audit.records()[-1]
    assert record.kind == "risk_check"
    assert record.payload["context"]["positions_notional"]["ETH/USD"] == "30000"
    assert record.payload["context"]["positions_notional"]["LTC/USD"] == "-10000"
    return record.payload


@pytest.fixture
def unlimited() -> dict:
    """Only the rule under test binds."""
    return {
        "max_gross_exposure": None,
        "max_leverage": None,
        "max_order_notional": None,
        "max_position_notional": None,
        "allow_short": True,
    }


def test_gross_exposure_counts_every_symbol(order, ctx, unlimited):
    # 30k + 10k held elsewhere + 20k BTC = 60k gross on 100k equity: over a 0.5x limit,
    # though BTC alone (0.2x) is far under it.
    engine = RiskEngine(RiskConfig(**{**unlimited, "max_gross_exposure": Decimal("0.5")}))
    verdict = engine.check(order(qty="200"), ctx(book=BOOK))
    payload = _refusal(engine, verdict, "max_gross_exposure")
    assert "60,000.00" in verdict.failed[0].detail
    assert payload["approved"] is False


def test_net_exposure_nets_longs_and_shorts_across_symbols(order, ctx, unlimited):
    engine = RiskEngine(RiskConfig(**{**unlimited, "max_leverage": Decimal("0.35")}))
    # net 30k - 10k + 20k = 40k = 0.4x > 0.35x
    verdict = engine.check(order(qty="200"), ctx(book=BOOK))
    _refusal(engine, verdict, "max_leverage")
    # 10k BTC: net 30k = 0.3x passes
    assert engine.check(order(qty="100"), ctx(book=BOOK)).approved


def test_per_symbol_notional_cap(order, ctx, unlimited):
    limits = {**unlimited, "position_notional_overrides": {"BTC/USDT": Decimal("15000")}}
    engine = RiskEngine(RiskConfig(**limits))
    verdict = engine.check(order(qty="200"), ctx(book=BOOK))
    _refusal(engine, verdict, "max_position_notional")
    assert engine.check(order(qty="100"), ctx(book=BOOK)).approved


def test_max_open_positions_refuses_one_more_symbol(order, ctx, unlimited):
    engine = RiskEngine(RiskConfig(**{**unlimited, "max_open_positions": 2}))
    verdict = engine.check(order(qty="1"), ctx(book=BOOK))
    _refusal(engine, verdict, "max_open_positions")
    assert "3 open positions > limit 2" in verdict.failed[0].detail


def test_max_open_positions_lets_held_symbols_trade(order, ctx, unlimited):
    engine = RiskEngine(RiskConfig(**{**unlimited, "max_open_positions": 2}))
    book = {**BOOK, "BTC/USDT": "100"}
    # BTC is already held: adding to it or closing it opens nothing new, even over the limit
    assert engine.check(order(qty="1"), ctx(position="1", book=book)).approved
    assert engine.check(order(side="sell", qty="1"), ctx(position="1", book=book)).approved


def test_max_open_positions_counts_a_closed_symbol_as_free(order, ctx, unlimited):
    engine = RiskEngine(RiskConfig(**{**unlimited, "max_open_positions": 2}))
    book = {"ETH/USD": "30000", "LTC/USD": "0"}
    assert engine.check(order(qty="1"), ctx(book=book)).approved


def test_max_open_positions_is_off_by_default(order, ctx):
    verdict = RiskEngine(RiskConfig()).check(order(qty="1"), ctx(book=BOOK))
    check = next(c for c in verdict.checks if c.rule == "max_open_positions")
    assert check.passed and check.detail == "disabled"
