"""Average-cost accounting of the ledger, exact in Decimal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from sigmax.ledger import Ledger
from sigmax.model import Fill, Liquidity, Side

TS = datetime(2024, 1, 1, tzinfo=UTC)


def fill(n: int, side: Side, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(f"f{n}", f"o{n}", "BTC/USD", side, D(qty), D(price), D(fee), TS, Liquidity.TAKER)


def test_open_add_reduce_close_realises_pnl() -> None:
    book = Ledger(D("10000"))
    book.apply(fill(1, Side.BUY, "1", "100", "0.1"))
    book.apply(fill(2, Side.BUY, "1", "200", "0.2"))
    assert book.position("BTC/USD").avg_price == D("150")
    entry = book.apply(fill(3, Side.SELL, "0.5", "300", "0.15"))
    assert entry.realized_pnl == D("75")
    assert book.position("BTC/USD").qty == D("1.5")
    book.apply(fill(4, Side.SELL, "1.5", "120"))
    assert book.position("BTC/USD").qty == 0
    assert book.realized_pnl == D("75") + D("-45")
    assert book.fees_paid == D("0.45")
    assert book.cash == D("10000") + book.realized_pnl - book.fees_paid


def test_flip_from_long_to_short_opens_remainder_at_fill_price() -> None:
    book = Ledger(D("1000"))
    book.apply(fill(1, Side.BUY, "2", "50"))
    entry = book.apply(fill(2, Side.SELL, "3", "60"))
    assert entry.realized_pnl == D("20")
    pos = book.position("BTC/USD")
    assert (pos.qty, pos.avg_price) == (D("-1"), D("60"))
    assert book.equity({"BTC/USD": D("55")}) == D("1000") + D("20") + D("5")


def test_equity_identity_holds() -> None:
    book = Ledger(D("5000"))
    for n, (side, qty, price) in enumerate(
        [(Side.BUY, "0.7", "101.3"), (Side.BUY, "0.2", "99.9"), (Side.SELL, "0.4", "103.1")]
    ):
        book.apply(fill(n, side, qty, price, "0.05"))
    mark = {"BTC/USD": D("102.55")}
    assert book.equity(mark) - book.initial_cash == (
        book.realized_pnl + book.unrealized_pnl(mark) - book.fees_paid
    ).quantize(D("1e-20"))


def test_same_fill_twice_is_refused_not_double_booked() -> None:
    book = Ledger(D("100"))
    f = fill(1, Side.BUY, "1", "10")
    book.apply(f)
    with pytest.raises(ValueError, match="already booked"):
        book.apply(f)
    assert book.position("BTC/USD").qty == D("1")


def test_marking_a_held_symbol_without_price_is_an_error() -> None:
    book = Ledger(D("100"))
    book.apply(fill(1, Side.BUY, "1", "10"))
    with pytest.raises(KeyError, match="no price to mark BTC/USD"):
        book.equity({})
