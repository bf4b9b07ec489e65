"""Purged, embargoed walk-forward folds and a final holdout (pure, no Ray).

The layout of the folds themselves is :func:`sigmax.backtest.sweep.walk_forward_folds`'s
(the same split, rounding and minimum sizes); this module opens two kinds of gap in it
and may keep the end of the series back:

* **purge**: ``purge`` bars between each train (in-sample) window and its test
  window belong to neither, so nothing the in-sample run computed or held near its
  end (an indicator window, an open position, a label's horizon) overlaps the test
  window's first bars.
* **embargo**: ``embargo`` bars after each test window belong to no later test
  window, so returns that are correlated across the boundary do not tie one fold's
  score to the next one's; the folds' scores are closer to independent samples.
* **holdout**: the last ``holdout_fraction`` of the bars are kept out of every fold.
  A search never sees them; the chosen set runs on them once, at the end. The holdout
  starts after the larger of the two gaps behind the last test window (it is one more
  test window, and everything before it is its in-sample span).

With ``purge = embargo = 0`` and no holdout the folds are exactly
``walk_forward_folds``'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sigmax.backtest.sweep import Fold, SweepError, walk_forward_folds


@dataclass(frozen=True, slots=True)
class FoldPlan:
    """The folds (bar index windows ``[start, stop)``), the gaps and the holdout window."""

    n_bars: int
    folds: tuple[Fold, ...]
    purge: int
    embargo: int
    holdout_start: int | None = None
    holdout_stop: int | None = None

    @property
    def tuning_stop(self) -> int:
        """End of the part the search sees: the last test window's stop."""
        return self.folds[-1].test_stop

    @property
    def has_holdout(self) -> bool:
        return self.holdout_start is not None

    @property
    def validation_bars(self) -> int:
        """Bars in all test windows together (the length of a trial's return series)."""
        return sum(f.test_bars for f in self.folds)

    def to_json(self) -> dict[str, Any]:
        return {
            "n_bars": self.n_bars,
            "purge": self.purge,
            "embargo": self.embargo,
            "folds": [asdict(f) for f in self.folds],
            "tuning_stop": self.tuning_stop,
            "holdout": (
                None
                if self.holdout_start is None
                else {"start": self.holdout_start, "stop": self.holdout_stop}
            ),
        }


def purged_walk_forward(
    n_bars: int,
    folds: int,
    *,
    train_fraction: float | None = None,
    train_bars: int | None = None,
    purge: int = 0,
    embargo: int = 0,
    holdout_fraction: float = 0.0,
    anchored: bool = False,
    min_bars: int = 2,
) -> FoldPlan:
    """Walk-forward folds over the first part of ``n_bars``, with the gaps of the module
    docstring, and the holdout after them. ``train_fraction``/``train_bars``, ``anchored``
    and ``min_bars`` mean what they mean to ``walk_forward_folds``."""
    for name, value in (("purge", purge), ("embargo", embargo)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SweepError(f"folds: {name} must be a whole number of bars >= 0, got {value!r}")
    if not 0.0 <= holdout_fraction < 1.0:
        raise SweepError(f"folds: holdout_fraction must be in [0, 1), got {holdout_fraction}")
    holdout = round(n_bars * holdout_fraction)
    if holdout_fraction > 0 and holdout < min_bars:
        raise SweepError(
            f"folds: a holdout of {holdout_fraction:g} of {n_bars} bars is {holdout} bars; "
            f"it needs at least {min_bars}"
        )
    before_holdout = max(purge, embargo) if holdout else 0
    tuning = n_bars - holdout - before_holdout
    spare = tuning - purge - max(folds - 1, 0) * embargo
    if spare < 2 * min_bars:
        raise SweepError(
            f"folds: {n_bars} bars leave {max(spare, 0)} for {folds} folds after a holdout of "
            f"{holdout}, a purge of {purge} and an embargo of {embargo} bars; use fewer folds "
            "or smaller gaps"
        )
    base = walk_forward_folds(
        spare,
        folds,
        train_fraction=train_fraction,
        train_bars=train_bars,
        anchored=anchored,
        min_bars=min_bars,
    )
    shifted = []
    for f in base:
        offset = f.index * embargo
        shifted.append(
            Fold(
                f.index,
                0 if anchored else f.train_start + offset,
                f.train_stop + offset,
                f.test_start + offset + purge,
                f.test_stop + offset + purge,
            )
        )
    plan = FoldPlan(n_bars, tuple(shifted), purge, embargo)
    if holdout:
        start = plan.tuning_stop + before_holdout
        return FoldPlan(n_bars, plan.folds, purge, embargo, start, n_bars)
    return plan
