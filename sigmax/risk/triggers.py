"""Auto-pause triggers: a losing streak, a burst of venue errors, stale market data.

Each trigger watches one thing the risk engine is told, says whether it trips and
whether its cause still holds, and explains itself with its numbers. The engine
pauses trading when one trips; only an operator resumes it. Times are int
nanoseconds since the epoch.

Losing trade
    A *trade* is one order that reduces or closes a position. Positions are kept
    from the fills the engine sees (average cost, as :class:`~sigmax.ledger.Ledger`).
    A fill that reduces a position realises ``(price - average entry) x reduced qty``
    (sign-adjusted for shorts) minus its fee (the share of the fee of the reduced
    part, for a fill that flips the position). Consecutive fills of one order are one
    trade whose result is their sum. A trade with a result < 0 is a loss and extends
    the streak; one with a result >= 0 ends it. Fills that open or add to a position
    neither extend nor end it. Fees of the opening fills are not charged to the trade.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from sigmax.ledger import roll_position
from sigmax.model import Fill, Side

ZERO = Decimal(0)
NS_PER_SECOND = 1_000_000_000
ERROR_WINDOW_NS = 60 * NS_PER_SECOND
_MAX_ERRORS_KEPT = 1_000
_RECENT_FILL_IDS = 256  # a replayed bar repeats only its own few fills


class LosingStreak:
    """Counts consecutive losing trades (see the module docstring for the definition)."""

    def __init__(self) -> None:
        self.count = 0
        self._before = 0  # the streak before the trade in progress
        self._order: str | None = None  # client order id of the trade in progress
        self._pnl = ZERO  # its result so far
        self._positions: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (qty, avg)

    def on_fill(self, fill: Fill) -> None:
        """Book ``fill`` (the engine shows each fill id once: :class:`RecentFillIds`)."""
        qty, avg = self._positions.get(fill.symbol, (ZERO, ZERO))
        delta = fill.qty if fill.side is Side.BUY else -fill.qty
        new_qty, new_avg, closed, realised = roll_position(qty, avg, delta, fill.price)
        if new_qty == 0:
            self._positions.pop(fill.symbol, None)
        else:
            self._positions[fill.symbol] = (new_qty, new_avg)
        if closed == 0:
            return
        result = realised - fill.fee * closed / fill.qty
        if fill.client_order_id == self._order:
            self._pnl += result
        else:
            self._before, self._order, self._pnl = self.count, fill.client_order_id, result
        self.count = self._before + 1 if self._pnl < 0 else 0

    def reset(self) -> None:
        """Start a new streak (an operator resumed trading)."""
        self.count = self._before = 0
        self._order, self._pnl = None, ZERO

    def describe(self, limit: int) -> str:
        return (
            f"losing_streak: {self.count} consecutive losing trades >= limit {limit} "
            f"(last trade {self._order}: realised P&L {self._pnl:,.2f} after fees)"
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "before": self._before,
            "order": self._order,
            "pnl": str(self._pnl),
            "positions": {s: [str(q), str(a)] for s, (q, a) in self._positions.items()},
        }

    def restore(self, data: dict[str, Any]) -> None:
        positions = {s: (Decimal(q), Decimal(a)) for s, (q, a) in data["positions"].items()}
        order = data["order"]
        if order is not None and not isinstance(order, str):
            raise TypeError("losing_streak.order must be a string or null")
        self.count, self._before = int(data["count"]), int(data["before"])
        self._order, self._pnl = order, Decimal(data["pnl"])
        self._positions = positions


class RecentFillIds:
    """The ids of the last fills seen, to count each fill once when a call is retried
    or a bar replayed after a restart (O(1) per fill)."""

    def __init__(self, ids: list[str] | None = None) -> None:
        self._arrivals: deque[str] = deque(maxlen=_RECENT_FILL_IDS)
        self._ids: set[str] = set()
        for fill_id in ids or []:
            self.add(fill_id)

    def add(self, fill_id: str) -> bool:
        """Remember ``fill_id``; False when it was seen already."""
        if fill_id in self._ids:
            return False
        if len(self._arrivals) == self._arrivals.maxlen:
            self._ids.discard(self._arrivals[0])
        self._arrivals.append(fill_id)
        self._ids.add(fill_id)
        return True

    def snapshot(self) -> list[str]:
        return list(self._arrivals)


class ErrorBurst:
    """Venue errors in a rolling 60 s window, judged on the times they were reported at."""

    def __init__(self) -> None:
        self._errors: deque[tuple[int, str]] = deque(maxlen=_MAX_ERRORS_KEPT)

    def record(self, ts_ns: int, error: str) -> None:
        self._errors.append((ts_ns, error))

    def count(self, now_ns: int) -> int:
        """Errors reported in the 60 s up to ``now_ns``."""
        start = now_ns - ERROR_WINDOW_NS
        return sum(1 for ts, _ in self._errors if start < ts <= now_ns)

    def clear(self) -> None:
        self._errors.clear()

    def describe(self, limit: int, now_ns: int) -> str:
        last = self._errors[-1][1] if self._errors else "none"
        return (
            f"venue_errors: {self.count(now_ns)} exchange errors in the last 60s >= "
            f"limit {limit} (last: {last})"
        )

    def snapshot(self) -> list[list[Any]]:
        return [[ts, error] for ts, error in self._errors]

    def restore(self, data: list[list[Any]]) -> None:
        self._errors = deque(((int(t), str(e)) for t, e in data), maxlen=_MAX_ERRORS_KEPT)


class StaleData:
    """When the last bar arrived (wall clock) and how long one bar interval is."""

    def __init__(self) -> None:
        self.received_ns: int | None = None
        self.bar_ts_ns: int | None = None
        self.interval_ns = 0

    def on_bar(self, received_ns: int, bar_ts_ns: int, interval_ns: int) -> None:
        if interval_ns <= 0:
            raise ValueError(f"stale data: bar interval must be > 0 ns, got {interval_ns}")
        self.received_ns, self.bar_ts_ns, self.interval_ns = received_ns, bar_ts_ns, interval_ns

    def stale(self, now_ns: int, intervals: int) -> bool:
        """True when more than ``intervals`` bar intervals passed without a bar."""
        if self.received_ns is None:
            return False
        return now_ns - self.received_ns > intervals * self.interval_ns

    def rearm(self, now_ns: int) -> None:
        """Count the silence from ``now_ns`` (a forced resume, or a deliberate stop)."""
        if self.received_ns is not None:
            self.received_ns = max(self.received_ns, now_ns)

    def describe(self, intervals: int, now_ns: int) -> str:
        silent_s = (now_ns - (self.received_ns or now_ns)) / NS_PER_SECOND
        limit_s = intervals * self.interval_ns / NS_PER_SECOND
        return (
            f"stale_data: no bar for {silent_s:,.0f}s > {intervals} bar intervals "
            f"({limit_s:,.0f}s); last bar opened at ts_ns {self.bar_ts_ns}"
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "received_ns": self.received_ns,
            "bar_ts_ns": self.bar_ts_ns,
            "interval_ns": self.interval_ns,
        }

    def restore(self, data: dict[str, Any]) -> None:
        received, bar_ts = data["received_ns"], data["bar_ts_ns"]
        self.received_ns = None if received is None else int(received)
        self.bar_ts_ns = None if bar_ts is None else int(bar_ts)
        self.interval_ns = int(data["interval_ns"])
