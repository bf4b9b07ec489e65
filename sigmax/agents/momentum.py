"""Momentum analyst: RSI and the MACD histogram."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import talib
from talib import stream

from sigmax.agents.base import Agent, AnalystState, Computed, column
from sigmax.agents.config import MomentumConfig
from sigmax.agents.indicators import clip01, clip1
from sigmax.model import Bar, BarSeries


class MomentumAgent(Agent):
    """Measures price momentum.

    RSI part = (RSI - 50) / ``rsi_band``; MACD part = histogram / close / ``hist_full``;
    both clipped to [-1, 1]; score = their ``rsi_weight``-weighted mean. Confidence = the
    mean of their sizes, halved when the two disagree in sign.
    """

    incremental = True
    inline = True

    def __init__(self, config: MomentumConfig | None = None, name: str = "momentum") -> None:
        self.config = config or MomentumConfig()
        self.name = name
        c = self.config
        self.warmup = max(c.rsi_period + 1, c.macd_slow + c.macd_signal - 1)

    def _compute(self, bars: BarSeries) -> Computed:
        c = self.config
        rsi = talib.RSI(bars.close, timeperiod=c.rsi_period)
        macd, macd_signal, hist = talib.MACD(
            bars.close, fastperiod=c.macd_fast, slowperiod=c.macd_slow, signalperiod=c.macd_signal
        )
        return self._combine(bars.close, rsi, macd, macd_signal, hist)

    def _open_state(self, history: BarSeries) -> AnalystState:
        return _MomentumState(self.config, history)

    def _compute_live(self, state: AnalystState, bar: Bar) -> Computed:
        return self._combine(*column(state.step(bar)))

    def _combine(
        self,
        close: np.ndarray,
        rsi: np.ndarray,
        macd: np.ndarray,
        macd_signal: np.ndarray,
        hist: np.ndarray,
    ) -> Computed:
        c = self.config
        rsi_part = clip1((rsi - 50.0) / c.rsi_band)
        hist_rel = hist / close
        macd_part = clip1(hist_rel / c.hist_full)
        score = c.rsi_weight * rsi_part + (1.0 - c.rsi_weight) * macd_part
        agree = np.sign(rsi_part) == np.sign(macd_part)
        confidence = clip01(0.5 * (np.abs(rsi_part) + np.abs(macd_part)) * np.where(agree, 1, 0.5))
        evidence = {
            "rsi": rsi,
            "macd": macd,
            "macd_signal": macd_signal,
            "macd_hist": hist,
            "macd_hist_rel": hist_rel,
        }
        return clip1(score), confidence, evidence

    def describe(self, evidence: Mapping[str, float]) -> str:
        e = evidence
        c = self.config
        return (
            f"RSI{c.rsi_period} {e['rsi']:.1f}; MACD({c.macd_fast},{c.macd_slow},"
            f"{c.macd_signal}) {e['macd']:.2f} vs signal {e['macd_signal']:.2f}, histogram "
            f"{e['macd_hist']:+.2f} ({e['macd_hist_rel']:+.3%} of price)."
        )


class _MomentumState(AnalystState):
    """RSI and MACD streams."""

    def __init__(self, config: MomentumConfig, history: BarSeries) -> None:
        c = config
        self.rsi = stream.RSI(history.close, timeperiod=c.rsi_period)
        self.macd = stream.MACD(
            history.close,
            fastperiod=c.macd_fast,
            slowperiod=c.macd_slow,
            signalperiod=c.macd_signal,
        )

    def step(self, bar: Bar) -> tuple[float, ...]:
        return bar.close, self.rsi.update(bar.close), *self.macd.update(bar.close)
