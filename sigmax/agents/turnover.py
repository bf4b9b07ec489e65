"""Turnover control, the graph's node between the optimiser and the risk gate.

The sizer's target (already quantised with a dead band) goes through unchanged unless
it is an entry or an add (a larger |target|) that comes too soon after the last change
(``min_hold_hours``), that the yearly turnover budget cannot pay for, or that the
contrarian analysts veto; then the previous target is kept. Exits to flat and
reductions always go through: a position may be cut at any bar, but not re-entered
within the holding time, so it is not flipped back within hours.

The budget is a bucket holding a month's allowance (``max_per_year / 12``), full at the
start, refilled by ``max_per_year / bars_per_year`` each bar and charged |change| for
every change, exits included (it may go below zero after exits; entries then wait).

The rule is sequential, so one loop serves both paths: the series runs it over every
bar from a fresh state, the live path over one bar from the state the previous bar
left (``TurnoverState``), and the two agree exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from sigmax.agents.config import TurnoverConfig
from sigmax.agents.indicators import series_bars_per_year
from sigmax.data.timeframes import YEAR_NS
from sigmax.model import BarSeries

AGE_CAP = 2**31  # bars since the last change stop counting here


class Held(IntEnum):
    """Why a bar's wanted target was not taken (the evidence carries the code)."""

    NO = 0
    MIN_HOLD = 1
    BUDGET = 2
    VETO = 3


@dataclass(frozen=True, slots=True)
class TurnoverState:
    """What the turnover control remembers between bars: the target it let through last,
    bars since that target last changed, and the budget left (fractions of equity)."""

    target: float = 0.0
    since_change: int = AGE_CAP
    budget: float = math.inf

    @classmethod
    def fresh(cls, target: float = 0.0) -> TurnoverState:
        """The state at a session's start, holding ``target``: free to change, budget full."""
        return cls(target=float(target))


@dataclass(frozen=True, slots=True)
class TurnoverOutcome:
    """The controlled target per decided bar, why each was held, and the state after it."""

    wanted: np.ndarray
    target: np.ndarray
    held: np.ndarray
    since_change: np.ndarray
    budget: np.ndarray
    hold_bars: int
    capacity: float

    def state_at(self, j: int) -> TurnoverState:
        """The state after position ``j``: pass it to the next bar."""
        return TurnoverState(
            float(self.target[j]), int(self.since_change[j]), float(self.budget[j])
        )

    def rationale(self, j: int, config: TurnoverConfig) -> str:
        held = Held(int(self.held[j]))
        budget = "no budget" if math.isinf(self.capacity) else f"budget left {self.budget[j]:.2f}"
        if held is Held.NO:
            return f"Turnover control: {self.target[j]:+.2f} goes through ({budget})."
        if held is Held.MIN_HOLD:
            why = f"minimum hold {config.min_hold_hours:g} h ({self.hold_bars} bars) not over"
        elif held is Held.BUDGET:
            why = f"turnover budget {config.max_per_year or math.inf:g}/yr spent ({budget})"
        else:
            why = "contrarian veto of entries"
        return (
            f"Turnover control: wanted {self.wanted[j]:+.2f}, kept {self.target[j]:+.2f} ({why})."
        )


def hold_bars(bars: BarSeries, config: TurnoverConfig) -> int:
    """The minimum holding time in bars of ``bars``' timeframe (rounded up)."""
    bar_ns = YEAR_NS / series_bars_per_year(bars)
    return math.ceil(config.min_hold_hours * 3600e9 / bar_ns - 1e-9)


def control_turnover(
    bars: BarSeries,
    wanted: np.ndarray,
    veto: np.ndarray,
    start: TurnoverState,
    config: TurnoverConfig,
) -> TurnoverOutcome:
    """Apply the hold time, the budget and the veto to ``wanted`` (one value per decided
    bar, in order), starting from ``start`` (the state after the bar before)."""
    if wanted.shape != veto.shape:
        raise ValueError(f"turnover: wanted {wanted.shape} and veto {veto.shape} differ")
    per_year = series_bars_per_year(bars)
    min_hold = hold_bars(bars, config)
    if config.max_per_year is None:
        capacity, refill = math.inf, 0.0
    else:
        capacity, refill = config.max_per_year / 12.0, config.max_per_year / per_year
    target: list[float] = []
    held: list[int] = []
    since: list[int] = []
    left: list[float] = []
    keep_target, keep_held, keep_since, keep_left = (
        target.append,
        held.append,
        since.append,
        left.append,
    )
    no = Held.NO
    prev, age, budget = start.target, start.since_change, min(start.budget, capacity)
    vetoes = veto.tolist()
    # Plain floats and no calls on a bar that changes nothing: the loop runs every bar.
    # "x += r; if cap < x: x = cap" is min(x + r, cap), and "age < AGE_CAP" min(age + 1, AGE_CAP).
    for k, want in enumerate(wanted.tolist()):
        budget += refill
        if capacity < budget:
            budget = capacity
        why = no
        if want != prev:
            out, why = _step(prev, want, age, budget, min_hold, vetoes[k])
            if out != prev:
                budget -= abs(out - prev)
                age = -1
            prev = out
        if age < AGE_CAP:
            age += 1
        keep_target(prev)
        keep_held(why)
        keep_since(age)
        keep_left(budget)
    return TurnoverOutcome(
        wanted.copy(),
        np.array(target, dtype=np.float64),
        np.array(held, dtype=np.int64),
        np.array(since, dtype=np.int64),
        np.array(left, dtype=np.float64),
        min_hold,
        capacity,
    )


def _step(
    prev: float, want: float, age: int, budget: float, min_hold: int, veto: bool
) -> tuple[float, Held]:
    """One bar's rule: the target let through and why the wanted one was not."""
    if want == prev:
        return prev, Held.NO
    flip = prev != 0.0 and want != 0.0 and (prev > 0.0) != (want > 0.0)
    base = 0.0 if flip else prev  # a flip is an exit (always allowed), then an entry
    if abs(want) <= abs(base):  # exit or reduction
        return want, Held.NO
    if veto:
        return base, Held.VETO
    if age + 1 < min_hold or (flip and min_hold > 0):
        return base, Held.MIN_HOLD
    if budget < abs(want - prev):
        return base, Held.BUDGET
    return want, Held.NO
