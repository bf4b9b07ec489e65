"""Equity circuit breakers: max drawdown from peak and daily loss from the UTC day's start.

:meth:`EquityMonitor.update` runs on every bar of a backtest, so it uses plain floats,
precomputed trip floors and int codes: the common path allocates nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import numpy as np

NS_PER_DAY = 86_400_000_000_000
_NEG_INF = float("-inf")

OK = 0
DRAWDOWN = 1
DAILY_LOSS = 2
NEW_DAY = 3


class EquityMonitor:
    """Tracks peak equity and the day's start equity; reports breaker trips as codes."""

    __slots__ = (
        "peak",
        "last",
        "day_start_equity",
        "day_start_ns",
        "_day_end_ns",
        "_dd_keep",
        "_day_keep",
        "_dd_floor",
        "_day_floor",
    )

    def __init__(self, max_drawdown_pct: float | None, daily_loss_limit_pct: float | None) -> None:
        self.peak = _NEG_INF
        self.last = _NEG_INF
        self.day_start_equity = _NEG_INF
        self.day_start_ns = 0
        self._day_end_ns = -1  # forces a day roll on the first update
        self._dd_floor = _NEG_INF
        self._day_floor = _NEG_INF
        self._dd_keep: float | None = None
        self._day_keep: float | None = None
        self.set_limits(max_drawdown_pct, daily_loss_limit_pct)

    @property
    def seen(self) -> bool:
        return self.last != _NEG_INF

    def set_limits(
        self, max_drawdown_pct: float | None, daily_loss_limit_pct: float | None
    ) -> None:
        """Change the breaker limits and recompute the trip floors."""
        self._dd_keep = None if max_drawdown_pct is None else 1.0 - max_drawdown_pct
        self._day_keep = None if daily_loss_limit_pct is None else 1.0 - daily_loss_limit_pct
        self._refloor()

    def update(self, ts_ns: int, equity: float) -> int:
        """Feed one equity observation; returns OK, DRAWDOWN, DAILY_LOSS or NEW_DAY."""
        if equity != equity:
            raise ValueError(f"equity monitor: equity is NaN at ts_ns={ts_ns}")
        rolled = OK
        if ts_ns >= self._day_end_ns or ts_ns < self.day_start_ns:
            self._roll_day(ts_ns, equity)
            rolled = NEW_DAY
        if equity > self.peak:
            self.peak = equity
            if self._dd_keep is not None:
                self._dd_floor = equity * self._dd_keep
        self.last = equity
        if equity < self._dd_floor:
            return DRAWDOWN
        if equity < self._day_floor:
            return DAILY_LOSS
        return rolled

    def scan(
        self,
        ts_ns: Sequence[int],
        equity: Sequence[float],
        start: int,
        new_day_is_quiet: bool = False,
    ) -> tuple[int, int]:
        """:meth:`update` with each observation from ``start`` on, in a plain loop, up to
        and including the first that answers something other than OK (or NEW_DAY, when
        ``new_day_is_quiet``); returns the index after it and its code (``len(equity)``
        and OK when none did). The common case (no day roll, no trip) is inlined;
        anything else goes through :meth:`update` itself."""
        n = len(equity)
        peak, dd_keep = self.peak, self._dd_keep
        dd_floor, day_floor = self._dd_floor, self._day_floor
        day_start, day_end = self.day_start_ns, self._day_end_ns
        k = start
        while k < n:
            t, e = ts_ns[k], equity[k]
            k += 1
            if day_start <= t < day_end and e == e:
                if e > peak:
                    peak = e
                    if dd_keep is not None:
                        dd_floor = e * dd_keep
                if e >= dd_floor and e >= day_floor:
                    continue
                self.peak, self._dd_floor, self.last = peak, dd_floor, e
                return k, DRAWDOWN if e < dd_floor else DAILY_LOSS
            # a day roll (or NaN): the full update, from the state so far
            self.peak, self._dd_floor = peak, dd_floor
            if k > start + 1:
                self.last = equity[k - 2]
            code = self.update(t, e)
            if code != OK and (code != NEW_DAY or not new_day_is_quiet):
                return k, code
            peak, dd_floor, day_floor = self.peak, self._dd_floor, self._day_floor
            day_start, day_end = self.day_start_ns, self._day_end_ns
        self.peak, self._dd_floor = peak, dd_floor
        if k > start:
            self.last = equity[k - 1]
        return k, OK

    def take_unarmed(self, ts_ns: Sequence[int], equity: Sequence[float]) -> bool:
        """:meth:`update` with each observation, in one step, for a monitor whose two
        breakers are off: nothing can trip, so only the state after the last one matters
        (the peak, the last equity, the day of the last observation and the equity that
        opened it). ``ts_ns`` must increase, from after the last observation seen; the
        caller vouches for it. Returns False, taking nothing, when a breaker is on or an
        equity is NaN (:meth:`update` refuses that one)."""
        if self._dd_keep is not None or self._day_keep is not None or not equity:
            return False
        total = sum(equity)  # NaN when any is NaN (or +inf meets -inf: the slow path judges)
        if total != total:
            return False
        top = max(equity)
        if top > self.peak:
            self.peak = top
        last_ts = ts_ns[-1]
        if not self.day_start_ns <= last_ts < self._day_end_ns:
            # times increase: the last day began at its first observation in this run
            first = bisect_left(ts_ns, last_ts - last_ts % NS_PER_DAY)
            self._roll_day(ts_ns[first], equity[first])
        self.last = equity[-1]
        return True

    def quiet_run(self, ts_ns: np.ndarray, equity: np.ndarray, new_day_is_quiet: bool) -> int:
        """Take the leading observations that :meth:`update` would answer with OK (or
        NEW_DAY, when ``new_day_is_quiet``), vectorised, leaving the monitor as those
        updates would; returns how many were taken. The first one not taken (a breaker
        trip, a day roll that matters, NaN, time going backwards) is for :meth:`update`.
        Same floats as the scalar path: the same products and comparisons, in bulk."""
        n = len(equity)
        if n == 0:
            return 0
        stop = n
        nan = np.flatnonzero(equity != equity)
        if nan.size:
            stop = int(nan[0])
        backwards = np.flatnonzero(np.diff(ts_ns) < 0)
        if backwards.size:
            stop = min(stop, int(backwards[0]) + 1)
        day = ts_ns - ts_ns % NS_PER_DAY
        rolls = np.empty(n, dtype=bool)
        rolls[0] = ts_ns[0] >= self._day_end_ns or ts_ns[0] < self.day_start_ns
        rolls[1:] = day[1:] != day[:-1]
        if not new_day_is_quiet and rolls.any():
            stop = min(stop, int(np.argmax(rolls)))
        if stop == 0:
            return 0
        equity, ts_ns, rolls = equity[:stop], ts_ns[:stop], rolls[:stop]
        peak = np.maximum.accumulate(equity)
        new_peak = peak > self.peak
        trips = np.zeros(stop, dtype=bool)
        if self._dd_keep is not None:
            dd_floor = np.where(new_peak, peak * self._dd_keep, self._dd_floor)
            trips |= equity < dd_floor
        if self._day_keep is not None:
            last_roll = np.maximum.accumulate(np.where(rolls, np.arange(stop), -1))
            day_start = np.where(last_roll >= 0, equity[np.maximum(last_roll, 0)], np.nan)
            floor = np.where(last_roll >= 0, day_start * self._day_keep, self._day_floor)
            trips |= equity < floor
        taken = int(np.argmax(trips)) if trips.any() else stop
        if taken:
            self._take(ts_ns[:taken], equity[:taken], rolls[:taken], float(peak[taken - 1]))
        return taken

    def _take(self, ts_ns: np.ndarray, equity: np.ndarray, rolls: np.ndarray, peak: float) -> None:
        """The state after updates with these observations (none of them tripped)."""
        if rolls.any():
            last = int(np.flatnonzero(rolls)[-1])
            self._roll_day(int(ts_ns[last]), float(equity[last]))
        if peak > self.peak:
            self.peak = peak
            if self._dd_keep is not None:
                self._dd_floor = peak * self._dd_keep
        self.last = float(equity[-1])

    def breached(self) -> int:
        """Which breaker the last equity still breaches (OK when none)."""
        if self.last < self._dd_floor:
            return DRAWDOWN
        if self.last < self._day_floor:
            return DAILY_LOSS
        return OK

    def rebase(self) -> None:
        """Make the last equity the new peak and day start (after a forced resume)."""
        if self.seen:
            self.peak = self.last
            self.day_start_equity = self.last
            self._refloor()

    def describe(self, code: int) -> str:
        """The trip reason of ``code`` with its numbers."""
        if code == DRAWDOWN:
            drop = 1.0 - self.last / self.peak if self.peak > 0 else float("inf")
            limit = 1.0 - (self._dd_keep or 0.0)
            return (
                f"max_drawdown: equity {self.last:,.2f} is {drop:.2%} below peak "
                f"{self.peak:,.2f} > limit {limit:.2%}"
            )
        if code == DAILY_LOSS:
            start = self.day_start_equity
            loss = 1.0 - self.last / start if start > 0 else float("inf")
            limit = 1.0 - (self._day_keep or 0.0)
            return (
                f"daily_loss_limit: equity {self.last:,.2f} is {loss:.2%} below day start "
                f"{start:,.2f} > limit {limit:.2%}"
            )
        return "ok"

    def snapshot(self) -> dict[str, Any]:
        seen = self.seen
        return {
            "peak": self.peak if seen else None,
            "last": self.last if seen else None,
            "day_start_equity": self.day_start_equity if seen else None,
            "day_start_ns": self.day_start_ns if seen else None,
        }

    def restore(self, data: dict[str, Any]) -> None:
        if data["last"] is None:
            self.peak = self.last = self.day_start_equity = _NEG_INF
            self.day_start_ns, self._day_end_ns = 0, -1
        else:
            self.peak = float(data["peak"])
            self.last = float(data["last"])
            self.day_start_equity = float(data["day_start_equity"])
            self.day_start_ns = int(data["day_start_ns"])
            self._day_end_ns = self.day_start_ns + NS_PER_DAY
        self._refloor()

    def _roll_day(self, ts_ns: int, equity: float) -> None:
        self.day_start_ns = ts_ns - ts_ns % NS_PER_DAY
        self._day_end_ns = self.day_start_ns + NS_PER_DAY
        self.day_start_equity = equity
        self._day_floor = _NEG_INF if self._day_keep is None else equity * self._day_keep

    def _refloor(self) -> None:
        seen = self.seen
        dd, day = self._dd_keep, self._day_keep
        self._dd_floor = self.peak * dd if seen and dd is not None else _NEG_INF
        self._day_floor = self.day_start_equity * day if seen and day is not None else _NEG_INF
