"""Positions, cash and P&L as a Ray actor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ray

from sigmax.ledger import Ledger, LedgerEntry
from sigmax.model import Fill, Position


@ray.remote
class PortfolioActor:
    """The books of one account: fills in, positions, equity and P&L out."""

    def __init__(self, cash: str) -> None:
        self.ledger = Ledger(Decimal(cash))

    def apply(self, fill: Fill) -> LedgerEntry:
        return self.ledger.apply(fill)

    def position(self, symbol: str) -> Position:
        return self.ledger.position(symbol)

    def equity(self, prices: dict[str, Decimal]) -> Decimal:
        return self.ledger.equity(prices)

    def summary(self, prices: dict[str, Decimal]) -> dict[str, Any]:
        book = self.ledger
        return {
            "cash": str(book.cash),
            "equity": str(book.equity(prices)),
            "realized_pnl": str(book.realized_pnl),
            "unrealized_pnl": str(book.unrealized_pnl(prices)),
            "fees_paid": str(book.fees_paid),
            "positions": {s: str(p.qty) for s, p in book.positions.items()},
        }
