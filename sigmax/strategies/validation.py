"""The one check of what a strategy returns, for the backtest and the live bar loop.

A strategy's wants are refused, with a :class:`StrategyTargetError` naming the
strategy, the symbol and the bar, when ``targets``/``target_at`` raises, returns
something that is not one number per bar, or a NaN or infinite target. Nothing is
traded on a refused want: the backtest stops before its first bar, a session skips
the bar (``sigmax.trading.session``).
"""

from __future__ import annotations

import math

import numpy as np

from sigmax.model import BarSeries, ts_from_ns
from sigmax.strategies.base import Strategy, StrategyError


class StrategyTargetError(StrategyError):
    """A strategy's targets were refused: it raised, or returned a wrong shape, NaN or
    an infinite value. ``bar`` is the index of the first bad bar when there is one."""

    def __init__(self, strategy: str, symbol: str, where: str, problem: str, bar: int | None):
        super().__init__(f"strategy {strategy} on {symbol}, {where}: {problem}")
        self.strategy, self.symbol, self.bar = strategy, symbol, bar


def validated_targets(strategy: Strategy, bars: BarSeries) -> np.ndarray:
    """``strategy.targets(bars)`` as float64 of shape ``(len(bars),)``, every value finite."""
    wants = _targets_array(strategy, bars, None)
    bad = np.flatnonzero(~np.isfinite(wants))
    if bad.size:
        i = int(bad[0])
        raise _refused(strategy, bars, i, f"target {wants[i]} is not a finite number")
    return wants


def validated_target_at(strategy: Strategy, history: BarSeries) -> float:
    """The live want at the last bar of ``history``, refused like :func:`validated_targets`.

    A strategy that keeps the default ``target_at`` has its whole ``targets(history)``
    checked for shape; only the last bar's value is acted on, so only it must be finite.
    """
    last = len(history) - 1
    if type(strategy).target_at is Strategy.target_at:
        want = float(_targets_array(strategy, history, last)[-1])
    else:
        want = _call_target_at(strategy, history)
    if not math.isfinite(want):
        raise _refused(strategy, history, last, f"target {want} is not a finite number")
    return want


def _targets_array(strategy: Strategy, bars: BarSeries, at: int | None) -> np.ndarray:
    """``targets(bars)`` as float64 of the right shape; ``at`` is the bar an error names
    (live: the bar being decided), None for the whole series."""
    try:
        raw = strategy.targets(bars)
    except Exception as exc:
        raise _raised(strategy, bars, at, "targets", exc) from exc
    try:
        wants = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        problem = f"targets returned {type(raw).__name__}, not numbers ({exc})"
        raise _refused(strategy, bars, at, problem) from exc
    if wants.shape != (len(bars),):
        problem = f"targets has shape {wants.shape}, expected ({len(bars)},): one per bar"
        raise _refused(strategy, bars, at, problem)
    return wants


def _call_target_at(strategy: Strategy, history: BarSeries) -> float:
    try:
        raw = strategy.target_at(history)
    except Exception as exc:
        raise _raised(strategy, history, len(history) - 1, "target_at", exc) from exc
    try:
        return float(raw)
    except (TypeError, ValueError) as exc:
        problem = f"target_at returned {type(raw).__name__}, not a number"
        raise _refused(strategy, history, len(history) - 1, problem) from exc


def _raised(
    strategy: Strategy, bars: BarSeries, at: int | None, hook: str, exc: Exception
) -> StrategyTargetError:
    return _refused(strategy, bars, at, f"{hook} raised {type(exc).__name__}: {exc}")


def _refused(
    strategy: Strategy, bars: BarSeries, bar: int | None, problem: str
) -> StrategyTargetError:
    return StrategyTargetError(strategy.name, bars.symbol, _where(bars, bar), problem, bar)


def _where(bars: BarSeries, bar: int | None) -> str:
    """``bar I (TS)``, or the span of ``bars`` when the problem is not one bar's."""
    if len(bars) == 0:
        return "no bars"
    if bar is not None:
        return f"bar {bar} ({ts_from_ns(int(bars.ts[bar])).isoformat()})"
    first, last = (ts_from_ns(int(bars.ts[i])).isoformat() for i in (0, len(bars) - 1))
    return f"bars 0-{len(bars) - 1} ({first} to {last})"
