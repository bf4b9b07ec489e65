"""Trend analyst: EMA alignment and crossover, with ADX as the strength of the trend."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import talib
from talib import stream

from sigmax.agents.base import Agent, AnalystState, Computed, column
from sigmax.agents.config import TrendConfig
from sigmax.agents.indicators import clip01, clip1
from sigmax.model import Bar, BarSeries


class TrendAgent(Agent):
    """Measures trend direction and strength.

    Score = half the EMA alignment (+1 when close > fast EMA > slow EMA, -1 for the
    mirror, +-0.5 when only the EMAs are ordered) plus half the relative fast/slow
    spread scaled by ``spread_full``. Confidence = ADX / ``adx_strong``, capped at 1:
    a flat ADX means the moving averages say little.
    """

    incremental = True
    inline = True

    def __init__(self, config: TrendConfig | None = None, name: str = "trend") -> None:
        self.config = config or TrendConfig()
        self.name = name
        self.warmup = max(self.config.slow_period, 2 * self.config.adx_period)

    def _compute(self, bars: BarSeries) -> Computed:
        c = self.config
        fast = talib.EMA(bars.close, timeperiod=c.fast_period)
        slow = talib.EMA(bars.close, timeperiod=c.slow_period)
        adx = talib.ADX(bars.high, bars.low, bars.close, timeperiod=c.adx_period)
        since_cross = _bars_since_cross(np.sign(fast - slow))
        return self._combine(bars.close, fast, slow, adx, since_cross)

    def _open_state(self, history: BarSeries) -> AnalystState:
        return _TrendState(self.config, history)

    def _compute_live(self, state: AnalystState, bar: Bar) -> Computed:
        return self._combine(*column(state.step(bar)))

    def _combine(
        self,
        close: np.ndarray,
        fast: np.ndarray,
        slow: np.ndarray,
        adx: np.ndarray,
        since_cross: np.ndarray,
    ) -> Computed:
        c = self.config
        spread = fast / slow - 1.0
        ordered = np.sign(fast - slow)
        price_agrees = np.sign(close - fast) == ordered
        alignment = np.where(price_agrees, ordered, 0.5 * ordered)
        score = clip1(0.5 * alignment + 0.5 * clip1(spread / c.spread_full))
        confidence = clip01(adx / c.adx_strong)
        evidence = {
            "close": close,
            "ema_fast": fast,
            "ema_slow": slow,
            "spread": spread,
            "alignment": alignment,
            "bars_since_cross": since_cross,
            "adx": adx,
        }
        return score, confidence, evidence

    def describe(self, evidence: Mapping[str, float]) -> str:
        c = self.config
        e = evidence
        side = "above" if e["ema_fast"] >= e["ema_slow"] else "below"
        return (
            f"EMA{c.fast_period} {e['ema_fast']:.2f} is {side} EMA{c.slow_period} "
            f"{e['ema_slow']:.2f} (spread {e['spread']:+.2%}, last cross "
            f"{e['bars_since_cross']:.0f} bars ago), close {e['close']:.2f}, alignment "
            f"{e['alignment']:+.1f}; ADX{c.adx_period} {e['adx']:.1f}."
        )


def _bars_since_cross(ordered: np.ndarray) -> np.ndarray:
    """Bars since the fast/slow order last changed (or since both EMAs first existed)."""
    idx = np.arange(ordered.shape[0])
    changed = np.zeros(ordered.shape[0], dtype=bool)
    changed[1:] = ordered[1:] != ordered[:-1]
    last = np.maximum.accumulate(np.where(changed, idx, 0))
    return (idx - last).astype(np.float64)


class _TrendState(AnalystState):
    """EMA and ADX streams, and the fast/slow order with the bars since it last changed."""

    def __init__(self, config: TrendConfig, history: BarSeries) -> None:
        close = history.close
        self.fast, fast = stream.EMA.open_and_fill(close, timeperiod=config.fast_period)
        self.slow, slow = stream.EMA.open_and_fill(close, timeperiod=config.slow_period)
        self.adx = stream.ADX(history.high, history.low, close, timeperiod=config.adx_period)
        ordered = np.sign(fast - slow)
        self.ordered = float(ordered[-1])
        self.since_cross = float(_bars_since_cross(ordered)[-1])

    def step(self, bar: Bar) -> tuple[float, ...]:
        fast = self.fast.update(bar.close)
        slow = self.slow.update(bar.close)
        adx = self.adx.update(bar.high, bar.low, bar.close)
        ordered = float(np.sign(fast - slow))
        self.since_cross = 0.0 if ordered != self.ordered else self.since_cross + 1.0
        self.ordered = ordered
        return bar.close, fast, slow, adx, self.since_cross
