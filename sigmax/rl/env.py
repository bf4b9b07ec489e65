"""A gymnasium trading environment over stored bars and the analysts' features.

One step is one decision at bar ``t``'s close:

* observation: the last ``window`` rows of the feature matrix (bars ``t - window + 1
  .. t``), then the current exposure (position value / equity at ``close[t]``) and the
  unrealised P&L as a fraction of equity; features are computed once, vectorised, and
  every row uses bars up to its own bar only;
* action: the target exposure (fraction of equity): ``Discrete`` {0: flat, 1: long,
  2: short (only with ``allow_short``)}, or ``Box([-1], [1])`` with ``continuous``
  (scaled by ``max_position``; clipped at 0 without ``allow_short``);
* a changed target is filled at bar ``t + 1``'s open (as in the backtest), paying
  ``fee_bps + slippage_bps`` of the traded notional; an unchanged one is no trade;
* reward: ``log(E[t+1] / E[t]) - drawdown_penalty * max(0, DD[t+1] - DD[t])`` where
  ``E`` is equity marked at the close (after costs) and ``DD = 1 - E / peak(E)``;
* an episode is ``episode_bars`` decisions from a random start (seeded by ``reset``)
  inside ``[start, stop)``; it terminates early when equity falls below
  ``ruin_equity`` of its start.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from sigmax.model import BarSeries
from sigmax.rl.config import OBS_CLIP, OBS_EXTRAS, EnvConfig
from sigmax.rl.features import Features, compute_features


@dataclass(slots=True)
class Book:
    """Cash and units of one simulated account (equity starts at 1)."""

    cash: float = 1.0
    units: float = 0.0
    entry: float = 0.0  # average entry price of the open position (0 when flat)
    target: float = 0.0  # the last target traded to

    def equity(self, price: float) -> float:
        return self.cash + self.units * price

    def exposure(self, price: float) -> float:
        eq = self.equity(price)
        return self.units * price / eq if eq > 0 else 0.0

    def unrealised(self, price: float) -> float:
        eq = self.equity(price)
        return self.units * (price - self.entry) / eq if eq > 0 and self.units else 0.0

    def rebalance(self, target: float, price: float, cost_rate: float) -> float:
        """Trade to ``target`` exposure at ``price``; returns the cost paid.

        An unchanged target is no trade (the exposure drifts with the price), as in the
        backtest engine, which orders only when the wanted position changes.
        """
        if target == self.target:
            return 0.0
        self.target = target
        equity = self.equity(price)
        new_units = target * max(equity, 0.0) / price
        delta = new_units - self.units
        cost = abs(delta) * price * cost_rate
        self.cash -= delta * price + cost
        if new_units == 0.0:
            self.entry = 0.0
        elif self.units == 0.0 or (self.units > 0) != (new_units > 0):
            self.entry = price
        elif abs(new_units) > abs(self.units):
            self.entry = (self.entry * self.units + price * delta) / new_units
        self.units = new_units
        return cost


def action_to_target(action: Any, config: EnvConfig) -> float:
    """The target exposure an action asks for (see the module docstring)."""
    if config.continuous:
        value = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        if not config.allow_short:
            value = max(value, 0.0)
        return value * config.max_position
    choice = int(action)
    limit = 3 if config.allow_short else 2
    if not 0 <= choice < limit:
        raise ValueError(f"action {choice} outside Discrete({limit})")
    return (0.0, 1.0, -1.0)[choice] * config.max_position


def observation_size(config: EnvConfig, features: Features) -> int:
    return config.window * features.width + len(OBS_EXTRAS)


def build_observation(
    features: Features, t: int, window: int, exposure: float, unrealised: float
) -> np.ndarray:
    """The observation at decision bar ``t`` (rows ``t - window + 1 .. t``), then
    ``OBS_EXTRAS`` (exposure, unrealised P&L)."""
    rows = features.values[t - window + 1 : t + 1]
    if rows.shape[0] != window:
        raise ValueError(f"bar {t}: needs {window} feature rows before it")
    tail = np.clip(np.array([exposure, unrealised], dtype=np.float32), -OBS_CLIP, OBS_CLIP)
    return np.concatenate([rows.reshape(-1), tail])


def first_decision(features: Features, window: int) -> int:
    """The first bar whose whole observation window holds valid features."""
    return features.warmup - 1 + window - 1


@functools.lru_cache(maxsize=4)
def _load(data: str, symbol: str | None, timeframe: str | None) -> tuple[BarSeries, Features]:
    """Bars and features of one data set, cached per process (vector envs share it)."""
    from sigmax.data import load_bars

    bars = load_bars(data, symbol, timeframe)
    return bars, compute_features(bars)


def train_range(config: EnvConfig, n: int) -> tuple[int, int]:
    """``[0, split)``: the bars used for training; ``[split, n)`` is held out."""
    split = int(n * config.train_fraction)
    return 0, split


class TradingEnv(gym.Env[np.ndarray, Any]):
    """See the module docstring. ``config`` may be an ``EnvConfig`` or its dict (RLlib
    passes ``env_config``); ``bars``/``features`` override loading ``config.data``;
    ``start``/``stop`` bound the bars episodes use (default: the training part)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        config: EnvConfig | dict[str, Any] | None = None,
        bars: BarSeries | None = None,
        features: Features | None = None,
        start: int | None = None,
        stop: int | None = None,
    ) -> None:
        super().__init__()
        cfg = config if isinstance(config, EnvConfig) else EnvConfig(**dict(config or {}))
        self.config = cfg
        if bars is None:
            bars, loaded = _load(cfg.data, cfg.symbol, cfg.timeframe)
            features = features if features is not None else loaded
        elif features is None:
            features = compute_features(bars)
        if len(features) != len(bars):
            raise ValueError(f"features have {len(features)} rows for {len(bars)} bars")
        self.bars, self.features = bars, features
        default_start, default_stop = train_range(cfg, len(bars))
        self.start = default_start if start is None else start
        self.stop = default_stop if stop is None else stop
        # Decisions t need features up to t and the bar t + 1 to fill at.
        self.first_t = max(self.start, first_decision(features, cfg.window))
        self.last_t0 = self.stop - 1 - cfg.episode_bars
        if self.last_t0 < self.first_t:
            raise ValueError(
                f"bars [{self.start}, {self.stop}) hold no episode of {cfg.episode_bars} "
                f"decisions after {self.first_t} bars of warm-up and window"
            )
        size = observation_size(cfg, features)
        self.observation_space = gym.spaces.Box(-OBS_CLIP, OBS_CLIP, (size,), np.float32)
        self.action_space: gym.Space[Any] = (
            gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
            if cfg.continuous
            else gym.spaces.Discrete(3 if cfg.allow_short else 2)
        )
        self._open = bars.open
        self._close = bars.close
        self.book = Book()
        self.t = self.t0 = self.first_t
        self.steps = 0
        self.peak = 1.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """A new episode; ``options={"start": t0}`` picks its first decision bar."""
        super().reset(seed=seed)
        if options and "start" in options:
            t0 = int(options["start"])
            if not self.first_t <= t0 <= self.last_t0:
                raise ValueError(f"start {t0} outside [{self.first_t}, {self.last_t0}]")
        else:
            t0 = int(self.np_random.integers(self.first_t, self.last_t0 + 1))
        self.t = self.t0 = t0
        self.steps = 0
        self.book = Book()
        self.peak = 1.0
        return self._observation(), self._info(0.0, 0.0, 0.0)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        target = action_to_target(action, self.config)
        t, cfg = self.t, self.config
        before = self.book.equity(float(self._close[t]))
        dd_before = 1.0 - before / self.peak
        cost = self.book.rebalance(target, float(self._open[t + 1]), cfg.cost_rate)
        after = self.book.equity(float(self._close[t + 1]))
        self.peak = max(self.peak, after)
        dd_after = 1.0 - after / self.peak
        log_return = math.log(max(after, 1e-12) / before)
        penalty = cfg.drawdown_penalty * max(0.0, dd_after - dd_before)
        reward = log_return - penalty
        self.t += 1
        self.steps += 1
        terminated = after < cfg.ruin_equity
        truncated = not terminated and self.steps >= cfg.episode_bars
        return (
            self._observation(),
            reward,
            terminated,
            truncated,
            self._info(cost, log_return, penalty),
        )

    def _observation(self) -> np.ndarray:
        price = float(self._close[self.t])
        return build_observation(
            self.features,
            self.t,
            self.config.window,
            self.book.exposure(price),
            self.book.unrealised(price),
        )

    def _info(self, cost: float, log_return: float, penalty: float) -> dict[str, Any]:
        price = float(self._close[self.t])
        equity = self.book.equity(price)
        return {
            "bar": self.t,
            "equity": equity,
            "exposure": self.book.exposure(price),
            "cost": cost,
            "log_return": log_return,
            "drawdown": 1.0 - equity / self.peak,
            "penalty": penalty,
        }


def make_env(env_config: dict[str, Any] | None = None) -> TradingEnv:
    """Env creator for RLlib's registry (``env_config`` is the EnvConfig as a dict)."""
    return TradingEnv(env_config)
