"""Settings of the trading environment and of PPO training, and the layout of one
observation (pydantic, validated)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Rolling window (bars) of 1-bar log returns whose std normalises the return features.
VOL_WINDOW = 168
#: Return horizons (bars) of the return features.
RETURN_HORIZONS = (1, 4, 24)
#: Short volatility window for the volatility-ratio feature.
SHORT_VOL_WINDOW = 24
#: Every observation value is clipped to [-OBS_CLIP, OBS_CLIP].
OBS_CLIP = 10.0
#: The inputs after the feature rows of every observation (``env.build_observation``).
OBS_EXTRAS = ("exposure", "unrealised_pnl")


class EnvConfig(BaseModel):
    """What one trading environment simulates.

    ``data``/``symbol``/``timeframe`` name the bars (as ``load_bars`` reads them);
    ``train_fraction`` splits them by time: episodes are drawn from the first part only,
    the rest is held out for evaluation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: str = "bundled:BTC-USD-1h"
    symbol: str | None = None
    timeframe: str | None = None
    train_fraction: float = Field(0.7, gt=0.0, le=1.0, description="share of bars for training")
    window: int = Field(16, ge=1, description="bars of features in one observation")
    episode_bars: int = Field(512, ge=2, description="decisions (steps) in one episode")
    fee_bps: float = Field(10.0, ge=0.0, description="fee in bps of traded notional")
    slippage_bps: float = Field(2.0, ge=0.0, description="adverse slippage in bps of notional")
    drawdown_penalty: float = Field(
        0.5, ge=0.0, description="reward minus this times each increase of drawdown"
    )
    allow_short: bool = False
    continuous: bool = False
    max_position: float = Field(1.0, gt=0.0, le=5.0, description="|target| as equity fraction")
    ruin_equity: float = Field(
        0.5, gt=0.0, lt=1.0, description="episode terminates below this fraction of start"
    )

    @property
    def cost_rate(self) -> float:
        """Fees plus slippage as a fraction of traded notional."""
        return (self.fee_bps + self.slippage_bps) / 10_000.0


class ObservationLayout(BaseModel):
    """What one observation holds, in order: ``window`` rows of ``features`` (the
    ``analysts``' score and confidence, then the return features), then ``extras``.

    A checkpoint records the layout its policy was trained on (``sigmax.rl.checkpoint``):
    the policy's inputs are positions, so any other layout feeds it the wrong numbers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: int = Field(ge=1)
    analysts: tuple[str, ...]
    features: tuple[str, ...]
    extras: tuple[str, ...] = OBS_EXTRAS

    @property
    def size(self) -> int:
        """The policy's input width."""
        return self.window * len(self.features) + len(self.extras)


class TrainConfig(BaseModel):
    """PPO settings for ``sigmax train`` (RLlib's new API stack)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iterations: int = Field(20, ge=1)
    env_runners: int = Field(1, ge=0, description="remote env runners (0: sample locally)")
    envs_per_runner: int = Field(4, ge=1, description="vectorised envs in each env runner")
    rollout_fragment_length: int | Literal["auto"] = "auto"
    train_batch_size: int = Field(4000, ge=16)
    minibatch_size: int = Field(256, ge=8)
    num_epochs: int = Field(5, ge=1)
    lr: float = Field(3e-4, gt=0.0)
    gamma: float = Field(0.99, gt=0.0, le=1.0)
    entropy_coeff: float = Field(0.01, ge=0.0)
    hidden: tuple[int, ...] = (128, 128)
    checkpoint_every: int = Field(5, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _minibatch_fits(self) -> TrainConfig:
        if self.minibatch_size > self.train_batch_size:
            raise ValueError(
                f"minibatch_size ({self.minibatch_size}) must be <= "
                f"train_batch_size ({self.train_batch_size})"
            )
        return self
