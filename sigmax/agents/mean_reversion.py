"""Mean-reversion analyst: Bollinger %B and the z-score of the close against its mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np
import talib
from talib import stream

from sigmax.agents.base import Agent, AnalystState, Computed, column
from sigmax.agents.config import MeanReversionConfig
from sigmax.agents.indicators import clip01, clip1, safe_div
from sigmax.model import Bar, BarSeries

_SMA = talib.MA_Type.SMA  # type: ignore[attr-defined]  # talib re-exports it implicitly


class MeanReversionAgent(Agent):
    """Measures how stretched the close is from its moving mean.

    z = (close - SMA) / rolling std over ``period`` bars; %B = position inside the
    Bollinger bands (0 = lower, 1 = upper). Score = -z / ``z_full`` (contrarian: a
    stretched close is expected to come back), confidence = |z| / ``z_full``; both
    capped. Flat prices (zero std) give z = 0.
    """

    incremental = True
    inline = True

    def __init__(self, config: MeanReversionConfig | None = None, name: str = "mean_reversion"):
        self.config = config or MeanReversionConfig()
        self.name = name
        self.warmup = self.config.period

    def _compute(self, bars: BarSeries) -> Computed:
        c = self.config
        upper, mid, lower = talib.BBANDS(
            bars.close, timeperiod=c.period, nbdevup=c.band_dev, nbdevdn=c.band_dev, matype=_SMA
        )
        std = talib.STDDEV(bars.close, timeperiod=c.period, nbdev=1.0)
        return self._combine(bars.close, upper, mid, lower, std)

    def _open_state(self, history: BarSeries) -> AnalystState:
        return _MeanReversionState(self.config, history)

    def _compute_live(self, state: AnalystState, bar: Bar) -> Computed:
        return self._combine(*column(state.step(bar)))

    def _combine(
        self,
        close: np.ndarray,
        upper: np.ndarray,
        mid: np.ndarray,
        lower: np.ndarray,
        std: np.ndarray,
    ) -> Computed:
        c = self.config
        z = safe_div(close - mid, std)
        percent_b = safe_div(close - lower, upper - lower, default=0.5)
        width = safe_div(upper - lower, mid)
        score = clip1(-z / c.z_full)
        confidence = clip01(np.abs(z) / c.z_full)
        evidence = {"zscore": z, "percent_b": percent_b, "band_width": width, "mean": mid}
        return score, confidence, evidence

    def describe(self, evidence: Mapping[str, float]) -> str:
        e = evidence
        return (
            f"Close is {e['zscore']:+.2f} std from its {self.config.period}-bar mean "
            f"{e['mean']:.2f}; Bollinger %B {e['percent_b']:.2f}, band width "
            f"{e['band_width']:.2%}."
        )


class _MeanReversionState(AnalystState):
    """Bollinger-band and standard-deviation streams."""

    def __init__(self, config: MeanReversionConfig, history: BarSeries) -> None:
        c = config
        self.bands = stream.BBANDS(
            history.close,
            timeperiod=c.period,
            nbdevup=c.band_dev,
            nbdevdn=c.band_dev,
            matype=cast(int, _SMA),  # an int at run time; the stub says enum
        )
        self.std = stream.STDDEV(history.close, timeperiod=c.period, nbdev=1.0)

    def step(self, bar: Bar) -> tuple[float, ...]:
        return bar.close, *self.bands.update(bar.close), self.std.update(bar.close)
