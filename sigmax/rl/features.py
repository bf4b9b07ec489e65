"""Agent features for the RL environment, computed once per series, vectorised.

Every column at bar ``t`` depends on ``bars[: t + 1]`` only (the analysts guarantee it
for their signals; the return features use trailing windows), so a whole series can be
computed once and sliced per step without look-ahead; ``tests/rl`` proves it by
changing the bars after ``t``.

Columns: each analyst's score and confidence (0 where it has no signal yet), then the
log returns over ``RETURN_HORIZONS`` bars in units of their expected size (trailing
``VOL_WINDOW``-bar std of 1-bar log returns times the square root of the horizon), then
the log ratio of short to long trailing volatility. All clipped to ``[-OBS_CLIP,
OBS_CLIP]``; rows before ``warmup - 1`` are not valid (NaN inputs filled with 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sigmax.agents.base import Agent
from sigmax.agents.config import GraphConfig
from sigmax.agents.roster import default_agents
from sigmax.model import BarSeries
from sigmax.rl.config import (
    OBS_CLIP,
    RETURN_HORIZONS,
    SHORT_VOL_WINDOW,
    VOL_WINDOW,
    ObservationLayout,
)


@dataclass(frozen=True, slots=True)
class Features:
    """Feature matrix ``values`` (float32, ``(len(bars), len(names))``).

    ``warmup`` is the number of bars needed before every column is valid: rows
    ``warmup - 1`` onwards are.
    """

    names: tuple[str, ...]
    values: np.ndarray
    warmup: int

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def width(self) -> int:
        return len(self.names)


def market_agents(config: GraphConfig | None = None) -> list[Agent]:
    """The five vectorised market-data analysts (never the per-bar LLM analyst)."""
    cfg = (config or GraphConfig()).model_copy(deep=True)
    return [a for a in default_agents(cfg) if a.vectorised]


def feature_names(agents: list[Agent] | None = None) -> tuple[str, ...]:
    names: list[str] = []
    for agent in agents if agents is not None else market_agents():
        names += [f"{agent.name}.score", f"{agent.name}.confidence"]
    names += [f"ret_{h}" for h in RETURN_HORIZONS]
    names.append("vol_ratio")
    return tuple(names)


def observation_layout(window: int, agents: list[Agent] | None = None) -> ObservationLayout:
    """The layout this code builds for ``window`` bars of ``agents``' features (default:
    ``market_agents()``, as the env and the policy use)."""
    agents = agents if agents is not None else market_agents()
    return ObservationLayout(
        window=window,
        analysts=tuple(a.name for a in agents),
        features=feature_names(agents),
    )


def compute_features(bars: BarSeries, agents: list[Agent] | None = None) -> Features:
    """The feature matrix of ``bars`` (see the module docstring)."""
    agents = agents if agents is not None else market_agents()
    n = len(bars)
    columns: list[np.ndarray] = []
    for agent in agents:
        series = agent.analyze_series(bars)
        columns += [np.nan_to_num(series.score), np.nan_to_num(series.confidence)]
    logret = np.zeros(n)
    if n > 1:
        logret[1:] = np.diff(np.log(bars.close))
    vol = _trailing_std(logret, VOL_WINDOW)
    log_close = np.log(bars.close)
    for h in RETURN_HORIZONS:
        ret = np.full(n, np.nan)
        ret[h:] = log_close[h:] - log_close[:-h]
        columns.append(_safe_div(ret, vol * np.sqrt(h)))
    short_vol = _trailing_std(logret, SHORT_VOL_WINDOW)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns.append(np.log(_safe_div(short_vol, vol, fill=1.0)))
    values = np.clip(np.nan_to_num(np.column_stack(columns), nan=0.0), -OBS_CLIP, OBS_CLIP)
    # logret[0] is a placeholder; the first valid window of it starts at bar 1.
    warmup = max([a.warmup for a in agents] + [VOL_WINDOW + 1, max(RETURN_HORIZONS) + 1])
    return Features(feature_names(agents), values.astype(np.float32), warmup)


def _trailing_std(values: np.ndarray, window: int) -> np.ndarray:
    """Sample std of the ``window`` values ending at each bar (NaN before), causal."""
    rolled = pd.Series(values).rolling(window, min_periods=window).std(ddof=1)
    out: np.ndarray = rolled.to_numpy(dtype=np.float64, copy=True)
    out[:window] = np.nan  # values[0] is a placeholder, not a return
    return out


def _safe_div(num: np.ndarray, den: np.ndarray, fill: float = 0.0) -> np.ndarray:
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    out = np.full(num.shape, fill)
    np.divide(num, den, out=out, where=ok)
    return out
