"""Market-sentiment analyst: a fear-and-greed index computed from market data only."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import talib
from talib import stream

from sigmax.agents.base import Agent, AnalystState, Computed, column
from sigmax.agents.config import SentimentConfig
from sigmax.agents.indicators import (
    LaggedClose,
    LiveRealizedVol,
    clip01,
    clip1,
    realized_vol,
    safe_div,
)
from sigmax.model import Bar, BarSeries

_LABELS = ((25.0, "extreme fear"), (45.0, "fear"), (55.0, "neutral"), (75.0, "greed"))


class SentimentAgent(Agent):
    """Measures market mood as a 0 (extreme fear) to 100 (extreme greed) index.

    It is built from this market's own bars only; it is NOT news or social-media
    sentiment. Four components, each mapped to [0, 100] and averaged with equal weight:

    - volatility: short / baseline realised vol; 1 -> 50, 2 or more -> 0 (fear), 0 -> 100;
    - momentum: close vs its ``momentum_window`` mean; +``momentum_full`` -> 100;
    - volume: short / long mean volume, signed by the direction of the close over
      ``volume_short`` bars: heavy buying -> greed, heavy selling -> fear;
    - drawdown: close vs its ``drawdown_window`` high; 0 -> 100, -``drawdown_full`` -> 0.

    Score = (50 - index) / 50 when ``contrarian`` (fear is a buying opportunity), else
    (index - 50) / 50. Confidence = component agreement: 1 - mean |component - index| / 50.
    """

    incremental = True
    inline = True

    def __init__(self, config: SentimentConfig | None = None, name: str = "sentiment") -> None:
        self.config = config or SentimentConfig()
        self.name = name
        c = self.config
        self.warmup = max(
            c.vol_baseline + 1,
            c.momentum_window,
            c.volume_long,
            c.drawdown_window,
            c.volume_short + 1,
        )

    def _compute(self, bars: BarSeries) -> Computed:
        c = self.config
        close = bars.close
        lagged = np.full_like(close, np.nan)
        lagged[c.volume_short :] = close[: -c.volume_short]
        return self._combine(
            close,
            realized_vol(close, c.vol_window, 1.0),
            realized_vol(close, c.vol_baseline, 1.0),
            talib.SMA(close, timeperiod=c.momentum_window),
            talib.SMA(bars.volume, timeperiod=c.volume_short),
            talib.SMA(bars.volume, timeperiod=c.volume_long),
            lagged,
            talib.MAX(close, timeperiod=c.drawdown_window),
        )

    def _open_state(self, history: BarSeries) -> AnalystState:
        return _SentimentState(self.config, history)

    def _compute_live(self, state: AnalystState, bar: Bar) -> Computed:
        return self._combine(*column(state.step(bar)))

    def _combine(self, close: np.ndarray, *indicators: np.ndarray) -> Computed:
        comps = self._components(close, *indicators)
        index = np.zeros_like(close)
        for comp in comps.values():
            index = index + comp
        index = index / len(comps)
        spread = np.zeros_like(index)
        for comp in comps.values():
            spread = spread + np.abs(comp - index)
        confidence = clip01(1.0 - spread / len(comps) / 50.0)
        tilt = (index - 50.0) / 50.0
        score = clip1(-tilt if self.config.contrarian else tilt)
        return score, confidence, {"fear_greed": index, **comps}

    def _components(
        self,
        close: np.ndarray,
        vol: np.ndarray,
        base_vol: np.ndarray,
        close_mean: np.ndarray,
        volume_short: np.ndarray,
        volume_long: np.ndarray,
        lagged_close: np.ndarray,
        close_high: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The four components from the indicators (``lagged_close``: the close
        ``volume_short`` bars back, NaN where there is none)."""
        c = self.config
        vol_ratio = safe_div(vol, base_vol, 1.0)
        momentum = close / close_mean - 1.0
        volume_ratio = safe_div(volume_short, volume_long, default=1.0)
        direction = np.where(np.isnan(lagged_close), 0.0, np.sign(close - lagged_close))
        drawdown = close / close_high - 1.0
        return {
            "fg_volatility": 50.0 * (1.0 + clip1(1.0 - vol_ratio)),
            "fg_momentum": 50.0 * (1.0 + clip1(momentum / c.momentum_full)),
            "fg_volume": 50.0 * (1.0 + clip1((volume_ratio - 1.0) * direction)),
            "fg_drawdown": 100.0 * clip01(1.0 + drawdown / c.drawdown_full),
        }

    def describe(self, evidence: Mapping[str, float]) -> str:
        e = evidence
        index = e["fear_greed"]
        label = next((name for top, name in _LABELS if index < top), "extreme greed")
        stance = "contrarian" if self.config.contrarian else "trend-following"
        return (
            f"Market fear-and-greed {index:.0f}/100 ({label}, {stance}): volatility "
            f"{e['fg_volatility']:.0f}, momentum {e['fg_momentum']:.0f}, volume "
            f"{e['fg_volume']:.0f}, drawdown {e['fg_drawdown']:.0f}."
        )


class _SentimentState(AnalystState):
    """Realised-vol, mean and maximum streams, and the closes of the volume window."""

    def __init__(self, config: SentimentConfig, history: BarSeries) -> None:
        c = config
        close = history.close
        self.vol = LiveRealizedVol(close, c.vol_window, 1.0)
        self.base = LiveRealizedVol(close, c.vol_baseline, 1.0)
        self.close_mean = stream.SMA(close, timeperiod=c.momentum_window)
        self.volume_short = stream.SMA(history.volume, timeperiod=c.volume_short)
        self.volume_long = stream.SMA(history.volume, timeperiod=c.volume_long)
        self.lagged = LaggedClose(close, c.volume_short)
        self.close_high = stream.MAX(close, timeperiod=c.drawdown_window)

    def step(self, bar: Bar) -> tuple[float, ...]:
        close = bar.close
        return (
            close,
            self.vol.update(close),
            self.base.update(close),
            self.close_mean.update(close),
            self.volume_short.update(bar.volume),
            self.volume_long.update(bar.volume),
            self.lagged.update(close),
            self.close_high.update(close),
        )
