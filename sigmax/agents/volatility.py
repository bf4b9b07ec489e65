"""Volatility analyst: realised vol, ATR and the market regime."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

import numpy as np
import talib
from talib import stream

from sigmax.agents.base import Agent, AnalystState, Computed, column
from sigmax.agents.config import VolatilityConfig
from sigmax.agents.indicators import (
    LiveNetAndPath,
    LiveRealizedVol,
    efficiency,
    net_and_path,
    realized_vol,
    safe_div,
    series_bars_per_year,
)
from sigmax.model import Bar, BarSeries


class Regime(IntEnum):
    """Market regime; the evidence carries it as a float code."""

    RANGING = 0
    TRENDING = 1
    HIGH_VOL = 2


class VolatilityAgent(Agent):
    """Measures volatility and classifies the regime.

    Regime: HIGH_VOL when short realised vol / baseline realised vol >= ``high_vol_ratio``,
    else TRENDING when the efficiency ratio (|net move| / path length over
    ``efficiency_window``) >= ``trend_efficiency``, else RANGING.

    Score = sign(net move) * efficiency ratio: how directional the recent path was.
    Confidence is set by the regime alone (``trending_confidence``, ``ranging_confidence``,
    ``high_vol_confidence``): a directional read is worth most in a trend and least when
    volatility has just blown out. ATR (as a fraction of price) is evidence for others.
    """

    incremental = True
    inline = True

    def __init__(self, config: VolatilityConfig | None = None, name: str = "volatility") -> None:
        self.config = config or VolatilityConfig()
        self.name = name
        c = self.config
        self.warmup = max(c.baseline_window + 1, c.atr_period + 1, c.efficiency_window + 1)

    def _compute(self, bars: BarSeries) -> Computed:
        c = self.config
        per_year = c.bars_per_year or series_bars_per_year(bars)
        vol = realized_vol(bars.close, c.vol_window, per_year)
        base = realized_vol(bars.close, c.baseline_window, per_year)
        atr = talib.ATR(bars.high, bars.low, bars.close, timeperiod=c.atr_period)
        net, path = net_and_path(bars.close, c.efficiency_window)
        return self._combine(bars.close, vol, base, atr, net, path)

    def _open_state(self, history: BarSeries) -> AnalystState:
        return _VolatilityState(self.config, history)

    def _compute_live(self, state: AnalystState, bar: Bar) -> Computed:
        return self._combine(*column(state.step(bar)))

    def _combine(
        self,
        close: np.ndarray,
        vol: np.ndarray,
        base: np.ndarray,
        atr: np.ndarray,
        net: np.ndarray,
        path: np.ndarray,
    ) -> Computed:
        c = self.config
        vol_ratio = safe_div(vol, base, default=1.0)
        er = efficiency(net, path)
        regime = np.where(
            vol_ratio >= c.high_vol_ratio,
            float(Regime.HIGH_VOL),
            np.where(er >= c.trend_efficiency, float(Regime.TRENDING), float(Regime.RANGING)),
        )
        scale = np.array([c.ranging_confidence, c.trending_confidence, c.high_vol_confidence])
        confidence = scale[np.nan_to_num(regime).astype(np.intp)]
        score = np.sign(net) * er
        evidence = {
            "realized_vol": vol,
            "baseline_vol": base,
            "vol_ratio": vol_ratio,
            "atr": atr,
            "atr_pct": atr / close,
            "efficiency_ratio": er,
            "regime": regime,
        }
        return score, confidence, evidence

    def describe(self, evidence: Mapping[str, float]) -> str:
        e = evidence
        c = self.config
        regime = Regime(int(e["regime"])).name.lower().replace("_", "-")
        return (
            f"Regime {regime}: realised vol {e['realized_vol']:.1%} ({c.vol_window} bars) vs "
            f"{e['baseline_vol']:.1%} baseline (ratio {e['vol_ratio']:.2f}), efficiency ratio "
            f"{e['efficiency_ratio']:.2f}, ATR{c.atr_period} {e['atr']:.2f} "
            f"({e['atr_pct']:.2%} of price)."
        )


class _VolatilityState(AnalystState):
    """Realised-vol, ATR and path-length streams, and the closes of the efficiency window."""

    def __init__(self, config: VolatilityConfig, history: BarSeries) -> None:
        c = config
        close = history.close
        per_year = c.bars_per_year or series_bars_per_year(history)
        self.vol = LiveRealizedVol(close, c.vol_window, per_year)
        self.base = LiveRealizedVol(close, c.baseline_window, per_year)
        self.atr = stream.ATR(history.high, history.low, close, timeperiod=c.atr_period)
        self.net_path = LiveNetAndPath(close, c.efficiency_window)

    def step(self, bar: Bar) -> tuple[float, ...]:
        close = bar.close
        vol, base = self.vol.update(close), self.base.update(close)
        atr = self.atr.update(bar.high, bar.low, close)
        return close, vol, base, atr, *self.net_path.update(close)
