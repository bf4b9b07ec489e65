"""Positions, cash and P&L as a Ray actor.

Its books are derived from fills, which the execution actor stores; a restarted
portfolio actor books the stored fills again, and booking a fill it already has is
answered from its books rather than done twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ray

from actors.persistence import actor_pool
from sigmax.ledger import Ledger, LedgerEntry
from sigmax.model import Fill, Position
from sigmax.storage.repos.orders import FillRepository
from sigmax.tracing import traced_actor


@ray.remote
@traced_actor
class PortfolioActor:
    """The books of one account: fills in, positions, equity and P&L out."""

    def __init__(self, cash: str, account: str, postgres: str | None = None) -> None:
        self.ledger = Ledger(Decimal(cash))
        self.account = account
        self.postgres = postgres
        self._entries: dict[str, LedgerEntry] = {}
        self._loaded = postgres is None

    async def _ready(self) -> None:
        if self._loaded:
            return
        assert self.postgres is not None
        for fill in await FillRepository(await actor_pool(self.postgres)).for_account(self.account):
            self._entries[fill.fill_id] = self.ledger.apply(fill)
        self._loaded = True

    async def apply(self, fill: Fill) -> LedgerEntry:
        await self._ready()
        if fill.fill_id not in self._entries:
            self._entries[fill.fill_id] = self.ledger.apply(fill)
        return self._entries[fill.fill_id]

    async def position(self, symbol: str) -> Position:
        await self._ready()
        return self.ledger.position(symbol)

    async def holdings(self, symbols: list[str]) -> dict[str, Decimal]:
        """The quantity held of each of ``symbols``: one call for a session's book."""
        await self._ready()
        return self.ledger.holdings(symbols)

    async def positions(self) -> list[Position]:
        """Every open position, by symbol: one call for the whole book."""
        await self._ready()
        return [self.ledger.positions[s] for s in sorted(self.ledger.positions)]

    async def equity(self, prices: dict[str, Decimal]) -> Decimal:
        await self._ready()
        return self.ledger.equity(prices)

    async def summary(self, prices: dict[str, Decimal]) -> dict[str, Any]:
        await self._ready()
        book = self.ledger
        return {
            "cash": str(book.cash),
            "equity": str(book.equity(prices)),
            "realized_pnl": str(book.realized_pnl),
            "unrealized_pnl": str(book.unrealized_pnl(prices)),
            "fees_paid": str(book.fees_paid),
            "fills": len(self._entries),
            "positions": {s: str(p.qty) for s, p in book.positions.items()},
        }
