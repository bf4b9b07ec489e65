"""Cash and positions kept exactly from fills: the books every P&L figure reconciles to.

Average-cost accounting: a fill that adds to a position moves its average price; one
that reduces it realises ``(price - avg_price) * qty`` (sign-adjusted); one that
crosses zero closes the old position and opens the remainder at the fill price.
Fees are charged to cash and counted separately, so that::

    equity - initial_cash == realized_pnl + unrealized_pnl - fees_paid

holds exactly up to Decimal's 28 significant digits in the average price,
far below a cent (tests check it to the cent and tighter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sigmax.model import Fill, Position, Side, quick_init

ZERO = Decimal(0)


@quick_init
@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What one fill did to the books."""

    fill: Fill
    realized_pnl: Decimal  # gross of fees
    position_after: Decimal
    cash_after: Decimal


class Ledger:
    """Exact (Decimal) cash, positions, realised P&L and fees of one account."""

    def __init__(self, cash: Decimal) -> None:
        if cash < 0:
            raise ValueError(f"ledger: initial cash must be >= 0, got {cash}")
        self.initial_cash = cash
        self.cash = cash
        self.fees_paid = ZERO
        self.realized_pnl = ZERO
        self._positions: dict[str, Position] = {}
        self._seen_fills: set[str] = set()

    def position(self, symbol: str) -> Position:
        position = self._positions.get(symbol)
        return Position(symbol, ZERO, ZERO) if position is None else position

    def holdings(self, symbols: Iterable[str]) -> dict[str, Decimal]:
        """The quantity held of each of ``symbols`` (zero when none): one call for a book."""
        return {s: self.position(s).qty for s in symbols}

    @property
    def positions(self) -> dict[str, Position]:
        return {s: p for s, p in self._positions.items() if p.qty != 0}

    def apply(self, fill: Fill) -> LedgerEntry:
        """Book one fill; the same fill id twice is an error, never a double booking."""
        if fill.fill_id in self._seen_fills:
            raise ValueError(f"ledger: fill {fill.fill_id} was already booked")
        old = self.position(fill.symbol)
        signed_qty = fill.qty if fill.side is Side.BUY else -fill.qty
        rolled = roll_position(old.qty, old.avg_price, signed_qty, fill.price)
        new_qty, new_avg, _, realized = rolled
        self.cash -= signed_qty * fill.price + fill.fee
        self.fees_paid += fill.fee
        self.realized_pnl += realized
        self._positions[fill.symbol] = Position(
            fill.symbol, new_qty, new_avg, old.realized_pnl + realized
        )
        self._seen_fills.add(fill.fill_id)
        return LedgerEntry(fill, realized, new_qty, self.cash)

    def equity(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Cash plus every open position marked at ``prices`` (one per held symbol)."""
        total = self.cash
        for symbol, pos in self._positions.items():
            if pos.qty == 0:
                continue
            if symbol not in prices:
                raise KeyError(f"ledger: no price to mark {symbol} (position {pos.qty})")
            total += pos.qty * prices[symbol]
        return total

    def unrealized_pnl(self, prices: Mapping[str, Decimal]) -> Decimal:
        return sum((p.unrealized_pnl(prices[s]) for s, p in self.positions.items()), start=ZERO)


def roll_position(
    qty: Decimal, avg: Decimal, delta: Decimal, price: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """New (qty, avg_price, closed qty, realised P&L) after trading ``delta`` at
    ``price`` (average cost; the closed qty is the part of the old position traded off)."""
    if qty == 0 or (qty > 0) == (delta > 0):
        new_qty = qty + delta
        return new_qty, (qty * avg + delta * price) / new_qty, ZERO, ZERO
    closed = min(abs(qty), abs(delta))
    direction = Decimal(1) if qty > 0 else Decimal(-1)
    realized = (price - avg) * closed * direction
    new_qty = qty + delta
    if new_qty == 0:
        return ZERO, ZERO, closed, realized
    if (new_qty > 0) == (qty > 0):
        return new_qty, avg, closed, realized
    return new_qty, price, closed, realized
